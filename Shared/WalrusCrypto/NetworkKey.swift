import WalrusCore
import CLibCrypto

/// A storage node's network key: P-256 (secp256r1), registered on chain as its 33-byte
/// compressed public key. The node's TLS certificate carries it, and clients and peers pin it
/// instead of trusting a certificate authority (as Walrus nodes do).
public struct NetworkPublicKey: Hashable, Sendable, CustomStringConvertible {
    /// The compressed point: 0x02 or 0x03, then the 32-byte x coordinate.
    public let bytes: [UInt8]

    /// Checks that `bytes` are a compressed point on P-256.
    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == 33 else { throw CryptoError(.invalidKey, "a network public key has 33 bytes (compressed P-256), got \(bytes.count)") }
        guard bytes.withUnsafeBufferPointer({ wl_p256_valid_public($0.baseAddress) }) == 1 else {
            throw CryptoError(.invalidKey, "the network public key is not a compressed point on P-256")
        }
        self.bytes = bytes
    }

    /// The P-256 key inside a DER SubjectPublicKeyInfo (as a TLS certificate carries it).
    public init(subjectPublicKeyInfo spki: [UInt8]) throws(CryptoError) {
        var out = [UInt8](repeating: 0, count: 33)
        guard spki.withUnsafeBufferPointer({ wl_p256_spki_public($0.baseAddress, $0.count, &out) }) == 1 else {
            throw CryptoError(.invalidKey, "the certificate's key is not a P-256 key")
        }
        bytes = out
    }

    /// The DNS name a self-signed certificate names for this key, as Walrus derives it: the first
    /// four bytes in hex, each without zero padding, then `.network.walrus.alt`.
    public var tlsName: String { bytes.prefix(4).map { String($0, radix: 16) }.joined() + ".network.walrus.alt" }

    public var description: String { Hex.encode(bytes) }
}

/// The private half of a network key.
public struct NetworkPrivateKey: Sendable {
    /// The 32-byte big-endian scalar. Handle with care: never log it.
    let scalar: [UInt8]
    public let publicKey: NetworkPublicKey

    public init(scalar: [UInt8]) throws(CryptoError) {
        guard scalar.count == 32 else { throw CryptoError(.invalidKey, "a network private key has 32 bytes, got \(scalar.count)") }
        var compressed = [UInt8](repeating: 0, count: 33)
        guard scalar.withUnsafeBufferPointer({ wl_p256_public($0.baseAddress, &compressed) }) == 1 else {
            throw CryptoError(.invalidKey, "the network private key is zero or not below the P-256 order")
        }
        self.scalar = scalar
        publicKey = NetworkPublicKey(uncheckedBytes: compressed)
    }

    /// A fresh key from OpenSSL's secure random generator.
    public static func generate() -> NetworkPrivateKey {
        while true {
            var scalar = [UInt8](repeating: 0, count: 32)
            if wl_p256_generate(&scalar) == 1, let key = try? NetworkPrivateKey(scalar: scalar) { return key }
        }
    }

    /// A key from PEM text (PKCS#8 or SEC1), such as the key of a certificate an authority issued.
    public init(pem: String) throws(CryptoError) {
        var scalar = [UInt8](repeating: 0, count: 32)
        let utf8 = Array(pem.utf8)
        guard utf8.withUnsafeBufferPointer({ $0.withMemoryRebound(to: CChar.self) { wl_p256_private_from_pem($0.baseAddress, $0.count, &scalar) } }) == 1
        else { throw CryptoError(.invalidKey, "the PEM text is not a P-256 private key") }
        try self.init(scalar: scalar)
    }

    /// A self-signed certificate for this key, PEM, with the key as PEM: the certificate names
    /// `publicKey.tlsName` and `hosts` (DNS names or IP addresses) as subject alternative names.
    public func selfSignedCertificate(hosts: [String], days: Int = 3650) throws(CryptoError) -> (certificatePEM: String, keyPEM: String) {
        let names = [publicKey.tlsName] + hosts.filter { !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || ".-:".contains($0) } }
        let sans = names.map { name in name.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) && name.contains(where: { $0 == "." || $0 == ":" }) ? "IP:\(name)" : "DNS:\(name)" }
            .joined(separator: ",")
        var key = [CChar](repeating: 0, count: 4096), certificate = [CChar](repeating: 0, count: 8192)
        guard scalar.withUnsafeBufferPointer({ wl_p256_self_signed($0.baseAddress, publicKey.tlsName, sans, Int32(days), &key, key.count, &certificate, certificate.count) }) == 1
        else { throw CryptoError(.invalidKey, "OpenSSL could not make a self-signed certificate for the network key") }
        return (String(decoding: certificate.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                String(decoding: key.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The key as PEM (PKCS#8).
    public var pem: String {
        get throws(CryptoError) {
            var out = [CChar](repeating: 0, count: 4096)
            guard scalar.withUnsafeBufferPointer({ wl_p256_private_pem($0.baseAddress, &out, out.count) }) == 1 else {
                throw CryptoError(.invalidKey, "OpenSSL could not write the network key as PEM")
            }
            return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

extension NetworkPublicKey {
    init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }
}

extension KeyFile {
    static let networkScheme = "secp256r1:"

    /// Writes a network key to a new file (`secp256r1:<64 hex digits>`, mode 0600).
    public static func write(_ key: NetworkPrivateKey, to path: String) throws(CryptoError) {
        try writeSecret(networkScheme + Hex.encode(key.scalar), to: path)
    }

    /// Loads a network key: our one-line format, or a PEM private key (for a certificate an
    /// authority issued). The same mode checks as every key file.
    public static func loadNetworkKey(from path: String) throws(CryptoError) -> NetworkPrivateKey {
        let text = try loadSecret(from: path)
        if text.hasPrefix("-----BEGIN") { return try NetworkPrivateKey(pem: text) }
        guard text.hasPrefix(networkScheme) else {
            throw CryptoError(.invalidKey, "network key file \(path) is neither '\(networkScheme)<hex>' nor a PEM private key")
        }
        let secret: [UInt8]
        do { secret = try Hex.decode(String(text.dropFirst(networkScheme.count))) } catch { throw CryptoError(.invalidKey, "network key file \(path): \(error.message)") }
        return try NetworkPrivateKey(scalar: secret)
    }
}

/// X25519 key agreement (the validator links' ephemeral keys).
public enum X25519 {
    /// A fresh key pair.
    public static func keyPair() -> (privateKey: [UInt8], publicKey: [UInt8]) {
        var privateKey = [UInt8](repeating: 0, count: 32), publicKey = [UInt8](repeating: 0, count: 32)
        while wl_x25519_keypair(&privateKey, &publicKey) != 1 {}
        return (privateKey, publicKey)
    }

    /// The shared secret with `peer`, or nil for a key that is not 32 bytes or of low order.
    public static func sharedSecret(privateKey: [UInt8], peer: [UInt8]) -> [UInt8]? {
        guard privateKey.count == 32, peer.count == 32 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        return wl_x25519_shared(&out, privateKey, peer) == 1 ? out : nil
    }
}

/// ChaCha20-Poly1305 (RFC 8439) with a 32-byte key and a 12-byte nonce.
public enum ChaChaPoly {
    public static let tagBytes = 16

    /// The ciphertext and its 16-byte tag.
    public static func seal(key: [UInt8], nonce: [UInt8], aad: [UInt8] = [], _ plaintext: UnsafeRawBufferPointer) -> [UInt8] {
        precondition(key.count == 32 && nonce.count == 12, "ChaCha20-Poly1305 takes a 32-byte key and a 12-byte nonce")
        var out = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        let ok = out.withUnsafeMutableBufferPointer { out in
            wl_chacha20poly1305_seal(key, nonce, aad, aad.count, plaintext.bindMemory(to: UInt8.self).baseAddress, plaintext.count, out.baseAddress)
        }
        precondition(ok == 1, "ChaCha20-Poly1305 sealing failed")
        return out
    }

    /// The plaintext, or nil when the ciphertext, its tag, the nonce or the associated data were altered.
    public static func open(key: [UInt8], nonce: [UInt8], aad: [UInt8] = [], _ sealed: UnsafeRawBufferPointer) -> [UInt8]? {
        guard key.count == 32, nonce.count == 12, sealed.count >= tagBytes else { return nil }
        var out = [UInt8](repeating: 0, count: sealed.count - tagBytes)
        let ok = out.withUnsafeMutableBufferPointer { out in
            wl_chacha20poly1305_open(key, nonce, aad, aad.count, sealed.bindMemory(to: UInt8.self).baseAddress, sealed.count, out.baseAddress)
        }
        return ok == 1 ? out : nil
    }
}
