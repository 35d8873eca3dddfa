public import WalrusCore
import CSecp256k1

/// BIP340 Schnorr signatures over secp256k1, through libsecp256k1: the signature scheme of
/// accounts, validators and storage nodes.
public enum Schnorr {
    /// A secret key with its x-only public key.
    public struct PrivateKey: Sendable {
        /// The 32-byte secret scalar. Handle with care: never log it.
        public let secretBytes: [UInt8]
        public let publicKey: PublicKey

        /// Wraps a 32-byte secret, which must be a valid scalar (non-zero, below the group order).
        public init(secretBytes: [UInt8]) throws(CryptoError) {
            guard secretBytes.count == 32 else {
                throw CryptoError(.invalidKey, "a secret key has 32 bytes, got \(secretBytes.count)")
            }
            var keypair = secp256k1_keypair()
            let ok = secp256k1_keypair_create(Secp256k1Context.shared.pointer, &keypair, secretBytes)
            guard ok == 1 else { throw CryptoError(.invalidKey, "the secret key is zero or not below the curve order") }
            var xonly = secp256k1_xonly_pubkey()
            var parity: Int32 = 0
            _ = secp256k1_keypair_xonly_pub(Secp256k1Context.shared.pointer, &xonly, &parity, &keypair)
            var serialized = [UInt8](repeating: 0, count: 32)
            _ = secp256k1_xonly_pubkey_serialize(Secp256k1Context.shared.pointer, &serialized, &xonly)
            self.secretBytes = secretBytes
            self.publicKey = PublicKey(unchecked: serialized)
        }

        /// A fresh key from the system's secure random generator.
        public static func generate() -> PrivateKey {
            var rng = SystemRandomNumberGenerator()
            while true {
                let candidate = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if let key = try? PrivateKey(secretBytes: candidate) { return key }
            }
        }

        /// Signs `message` (any length) with BIP340. `auxRandom` is the 32 bytes of auxiliary
        /// randomness; by default fresh random bytes are used, which BIP340 recommends.
        public func sign(_ message: [UInt8], auxRandom: [UInt8]? = nil) -> Signature {
            let aux: [UInt8]
            if let auxRandom {
                precondition(auxRandom.count == 32, "BIP340 auxiliary randomness has 32 bytes")
                aux = auxRandom
            } else {
                var rng = SystemRandomNumberGenerator()
                aux = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            let context = Secp256k1Context.shared.pointer
            var keypair = secp256k1_keypair()
            let created = secp256k1_keypair_create(context, &keypair, secretBytes)
            precondition(created == 1, "the secret key was validated at construction")
            var signature = [UInt8](repeating: 0, count: 64)
            let ok = aux.withUnsafeBufferPointer { auxPointer in
                var extra = secp256k1_schnorrsig_extraparams()
                extra.magic = (0xda, 0x6f, 0xb3, 0x8c)  // SECP256K1_SCHNORRSIG_EXTRAPARAMS_MAGIC
                extra.noncefp = nil
                extra.ndata = UnsafeMutableRawPointer(mutating: auxPointer.baseAddress)
                return message.withUnsafeBufferPointer { msg in
                    secp256k1_schnorrsig_sign_custom(context, &signature, msg.baseAddress, message.count, &keypair, &extra)
                }
            }
            precondition(ok == 1, "BIP340 signing with a valid key does not fail")
            return Signature(unchecked: signature)
        }
    }

    /// A BIP340 x-only public key: 32 bytes, the x coordinate of a point with even y.
    public struct PublicKey: Hashable, Comparable, Sendable, BCSCodable, CustomStringConvertible {
        public let bytes: [UInt8]

        init(unchecked bytes: [UInt8]) { self.bytes = bytes }

        /// Parses 32 bytes, which must be the x coordinate of a point on the curve.
        public init(bytes: [UInt8]) throws(CryptoError) {
            guard bytes.count == 32 else {
                throw CryptoError(.invalidKey, "an x-only public key has 32 bytes, got \(bytes.count)")
            }
            var parsed = secp256k1_xonly_pubkey()
            guard secp256k1_xonly_pubkey_parse(Secp256k1Context.shared.pointer, &parsed, bytes) == 1 else {
                throw CryptoError(.invalidKey, "the public key is not the x coordinate of a curve point")
            }
            self.bytes = bytes
        }

        /// Parses 64 hex digits.
        public init(hex: String) throws(CryptoError) {
            let raw: [UInt8]
            do { raw = try Hex.decode(hex) } catch { throw CryptoError(.invalidKey, "public key hex: \(error.message)") }
            try self.init(bytes: raw)
        }

        /// Whether `signature` is a valid BIP340 signature of `message` under this key.
        public func isValidSignature(_ signature: Signature, for message: [UInt8]) -> Bool {
            let context = Secp256k1Context.shared.pointer
            var parsed = secp256k1_xonly_pubkey()
            guard secp256k1_xonly_pubkey_parse(context, &parsed, bytes) == 1 else { return false }
            return message.withUnsafeBufferPointer { msg in
                secp256k1_schnorrsig_verify(context, signature.bytes, msg.baseAddress, message.count, &parsed) == 1
            }
        }

        /// The account address of this key: BLAKE2b-256 of the 32 x-only bytes.
        public var address: Address { Address(unchecked: Blake2b256.hash(bytes)) }

        public static func < (a: Self, b: Self) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
        public var description: String { Hex.encode(bytes) }
        public func encode(to writer: inout BCSWriter) { writer.writeFixed(bytes) }
        public init(from reader: inout BCSReader) throws(CoreError) {
            let raw = try reader.readFixed(32)
            do { try self.init(bytes: raw) } catch { throw CoreError(.malformedBCS, error.message) }
        }
    }

    /// A 64-byte BIP340 signature.
    public struct Signature: Hashable, Sendable, BCSCodable, CustomStringConvertible {
        public let bytes: [UInt8]

        init(unchecked bytes: [UInt8]) { self.bytes = bytes }

        /// Wraps 64 bytes. Whether they verify is only known against a key and a message.
        public init(bytes: [UInt8]) throws(CryptoError) {
            guard bytes.count == 64 else {
                throw CryptoError(.invalidSignature, "a BIP340 signature has 64 bytes, got \(bytes.count)")
            }
            self.bytes = bytes
        }

        public var description: String { Hex.encode(bytes) }
        public func encode(to writer: inout BCSWriter) { writer.writeFixed(bytes) }
        public init(from reader: inout BCSReader) throws(CoreError) { bytes = try reader.readFixed(64) }
    }
}

/// The one libsecp256k1 context of the process.
///
/// Thread safety: libsecp256k1 allows concurrent use of a context by all functions except
/// `secp256k1_context_randomize` and `secp256k1_context_destroy`. The context is randomized once,
/// here, before it is shared, and never destroyed; so sharing the pointer is safe.
final class Secp256k1Context: @unchecked Sendable {
    static let shared = Secp256k1Context()
    let pointer: OpaquePointer

    private init() {
        // SECP256K1_CONTEXT_NONE: one context serves signing and verification since 0.2.0.
        guard let context = secp256k1_context_create(UInt32(SECP256K1_FLAGS_TYPE_CONTEXT)) else {
            preconditionFailure("libsecp256k1 could not allocate a context")
        }
        var rng = SystemRandomNumberGenerator()
        let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        _ = secp256k1_context_randomize(context, seed)  // Side-channel blinding for signing.
        pointer = context
    }
}
