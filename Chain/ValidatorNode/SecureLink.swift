import ChainTypes
import WalrusCore
import WalrusCrypto

/// The validator link's handshake and record layer: each side proves its validator key over a
/// transcript that binds both sides' fresh X25519 keys, then every frame is ChaCha20-Poly1305
/// with a per-direction key from that session and a counter nonce. A frame of another session,
/// a replayed or reordered frame, or a handshake relayed from elsewhere does not open.
///
///     initiator → responder   Hello: magic, chain hash, static key, ephemeral key (104 bytes)
///     responder → initiator   Hello
///     both                    Auth: Schnorr signature of (peer-frame intent, chain ID, role, transcript)
///     both                    sealed frames
///
/// The transcript is BLAKE2b-256 of the initiator's hello then the responder's. Until Auth
/// verifies, a peer is held to frames of `handshakeFrameBytesMax`: an unauthenticated peer costs
/// a handshake's worth of memory, never a 32 MiB frame buffer.
struct LinkHandshake {
    enum Role: UInt8 { case initiator = 1, responder = 2 }

    static let magic = Array("WLRSLNK1".utf8)
    static let helloBytes = 8 + 32 + 32 + 32
    static let authBytes = 64
    /// The largest frame before the handshake completes.
    static let handshakeFrameBytesMax = 128

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    let role: Role
    let chainID: String
    let key: Schnorr.PrivateKey
    private let ephemeral: (privateKey: [UInt8], publicKey: [UInt8])
    let hello: [UInt8]
    private(set) var peerKey: PeerKey?
    private var transcript: [UInt8]?
    private var peerEphemeral: [UInt8]?

    init(role: Role, chainID: String, key: Schnorr.PrivateKey) {
        self.role = role
        self.chainID = chainID
        self.key = key
        ephemeral = X25519.keyPair()
        hello = LinkHandshake.magic + Blake2b256.hash(Array(chainID.utf8)) + key.publicKey.bytes + ephemeral.publicKey
    }

    /// Takes the peer's hello (refused for another chain or protocol, or a key other than
    /// `expected` when dialling a known validator) and answers our Auth.
    mutating func receiveHello(_ bytes: [UInt8], expected: PeerKey?) throws(Failure) -> [UInt8] {
        guard peerKey == nil, bytes.count == Self.helloBytes, Array(bytes[0..<8]) == Self.magic else { throw Failure("not a validator-link hello") }
        guard Array(bytes[8..<40]) == Blake2b256.hash(Array(chainID.utf8)) else { throw Failure("the peer is on another chain") }
        let claimed = Array(bytes[40..<72])
        if let expected, claimed != expected { throw Failure("the peer is not the validator dialled") }
        guard claimed != key.publicKey.bytes else { throw Failure("the peer claims our own key") }
        let (first, second) = role == .initiator ? (hello, bytes) : (bytes, hello)
        let transcript = Blake2b256.hash(first + second)
        peerKey = claimed
        peerEphemeral = Array(bytes[72..<104])
        self.transcript = transcript
        return key.sign(Self.authBytes(chainID: chainID, role: role, transcript: transcript)).bytes
    }

    /// Checks the peer's Auth: its validator key signed this session's transcript in its role.
    /// Returns the session's ciphers.
    func receiveAuth(_ bytes: [UInt8]) throws(Failure) -> (send: LinkCipher, receive: LinkCipher) {
        guard let peerKey, let transcript, let peerEphemeral, bytes.count == Self.authBytes else { throw Failure("an Auth out of order") }
        let peerRole: Role = role == .initiator ? .responder : .initiator
        guard let publicKey = try? Schnorr.PublicKey(bytes: peerKey), let signature = try? Schnorr.Signature(bytes: bytes),
            publicKey.isValidSignature(signature, for: Self.authBytes(chainID: chainID, role: peerRole, transcript: transcript))
        else { throw Failure("the peer did not prove its key") }
        guard let shared = X25519.sharedSecret(privateKey: ephemeral.privateKey, peer: peerEphemeral) else { throw Failure("a degenerate key exchange") }
        let toResponder = Blake2b256.hash(Array("walrus-link i->r".utf8) + shared + transcript)
        let toInitiator = Blake2b256.hash(Array("walrus-link r->i".utf8) + shared + transcript)
        return role == .initiator
            ? (LinkCipher(key: toResponder), LinkCipher(key: toInitiator))
            : (LinkCipher(key: toInitiator), LinkCipher(key: toResponder))
    }

    static func authBytes(chainID: String, role: Role, transcript: [UInt8]) -> [UInt8] {
        var w = BCSWriter(capacity: 96)
        w.write(IntentHeader(type: .peerFrame, epoch: Epoch(0)))
        w.writeString(chainID)
        w.write(role.rawValue)
        w.writeFixed(transcript)
        return w.bytes
    }
}

/// One direction of a session: ChaCha20-Poly1305 under the session key, nonce = the frame's
/// number. Frames must arrive in order, each once.
struct LinkCipher {
    let key: [UInt8]
    private(set) var counter: UInt64 = 0

    init(key: [UInt8]) { self.key = key }

    private var nonce: [UInt8] { [0, 0, 0, 0] + withUnsafeBytes(of: counter.bigEndian) { Array($0) } }

    mutating func seal(_ plaintext: [UInt8]) -> [UInt8] {
        let sealed = plaintext.withUnsafeBytes { ChaChaPoly.seal(key: key, nonce: nonce, $0) }
        counter &+= 1
        return sealed
    }

    /// The plaintext, or nil for a frame that was altered, replayed, reordered or is from
    /// another session (the link is then closed).
    mutating func open(_ sealed: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let plaintext = ChaChaPoly.open(key: key, nonce: nonce, sealed) else { return nil }
        counter &+= 1
        return plaintext
    }
}
