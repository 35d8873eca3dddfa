import Foundation
import Testing
import WalrusCore
import WalrusCrypto

struct BIP340Vector: CustomTestStringConvertible, Sendable {
    let index: Int
    let secretKey: [UInt8]?
    let publicKey: [UInt8]
    let auxRandom: [UInt8]?
    let message: [UInt8]
    let signature: [UInt8]
    let valid: Bool
    let comment: String
    var testDescription: String { "BIP340 vector \(index) \(comment)" }

    static func all() throws -> [BIP340Vector] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/bip340-test-vectors.csv")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst()
        return try lines.map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            func bytes(_ s: String) throws -> [UInt8]? { s.isEmpty ? nil : try Hex.decode(s) }
            return BIP340Vector(
                index: Int(f[0])!, secretKey: try bytes(f[1]), publicKey: try Hex.decode(f[2]),
                auxRandom: try bytes(f[3]), message: try bytes(f[4]) ?? [], signature: try Hex.decode(f[5]),
                valid: f[6] == "TRUE", comment: f.count > 7 ? f[7...].joined(separator: ",") : "")
        }
    }
}

@Suite struct SchnorrTests {
    @Test func allOfficialVectorsArePresent() throws {
        let vectors = try BIP340Vector.all()
        #expect(vectors.count == 19)
        #expect(vectors.filter { !$0.valid }.count == 10)
    }

    @Test(arguments: try BIP340Vector.all())
    func bip340Vector(_ vector: BIP340Vector) throws {
        if let secret = vector.secretKey {
            let key = try Schnorr.PrivateKey(secretBytes: secret)
            #expect(key.publicKey.bytes == vector.publicKey)
            let signature = key.sign(vector.message, auxRandom: vector.auxRandom)
            #expect(signature.bytes == vector.signature)
        }
        let verified: Bool
        if let publicKey = try? Schnorr.PublicKey(bytes: vector.publicKey) {
            verified = publicKey.isValidSignature(try Schnorr.Signature(bytes: vector.signature), for: vector.message)
        } else {
            verified = false  // A public key that does not parse verifies nothing.
        }
        #expect(verified == vector.valid)
    }

    @Test func invalidKeysAreRejected() {
        #expect(throws: CryptoError.self) { try Schnorr.PrivateKey(secretBytes: [UInt8](repeating: 0, count: 32)) }
        #expect(throws: CryptoError.self) { try Schnorr.PrivateKey(secretBytes: [UInt8](repeating: 0xff, count: 32)) }
        #expect(throws: CryptoError.self) { try Schnorr.PrivateKey(secretBytes: [1, 2, 3]) }
        #expect(throws: CryptoError.self) { try Schnorr.PublicKey(bytes: [UInt8](repeating: 0xff, count: 32)) }
        #expect(throws: CryptoError.self) { try Schnorr.Signature(bytes: [UInt8](repeating: 0, count: 63)) }
    }

    @Test func freshKeysSignAndVerify() throws {
        let key = Schnorr.PrivateKey.generate()
        let message = Array("store this blob".utf8)
        let signature = key.sign(message)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(signature, for: message + [0]))
        #expect(!Schnorr.PrivateKey.generate().publicKey.isValidSignature(signature, for: message))
        #expect(key.publicKey.address.bytes == Blake2b256.hash(key.publicKey.bytes))
        #expect(try Schnorr.PublicKey.decode(bcs: key.publicKey.bcsBytes) == key.publicKey)
    }

    @Test func aSignatureUnderOneIntentFailsUnderAnother() throws {
        let key = Schnorr.PrivateKey.generate()
        let blobID = BlobID(unchecked: [UInt8](repeating: 7, count: 32))
        let confirmation = IntentMessage(type: .blobCertification, epoch: Epoch(5), body: blobID)
        let signature = key.sign(confirmation)
        #expect(confirmation.serialized.prefix(7) == [1, 0, 3, 5, 0, 0, 0])

        // Accepted as what it is.
        let parsed = try key.publicKey.verify(signature, serializedMessage: confirmation.serialized, expecting: .blobCertification)
        #expect(parsed.header.epoch == Epoch(5))

        // Refused when presented as another kind of message.
        #expect { try key.publicKey.verify(signature, serializedMessage: confirmation.serialized, expecting: .invalidBlobID) }
            throws: { ($0 as! CryptoError).code == .wrongIntent }

        // The same body under another intent or epoch does not verify with this signature.
        let relabeled = IntentMessage(type: .invalidBlobID, epoch: Epoch(5), body: blobID)
        #expect { try key.publicKey.verify(signature, serializedMessage: relabeled.serialized, expecting: .invalidBlobID) }
            throws: { ($0 as! CryptoError).code == .invalidSignature }
        let otherEpoch = IntentMessage(type: .blobCertification, epoch: Epoch(6), body: blobID)
        #expect(throws: CryptoError.self) {
            try key.publicKey.verify(signature, serializedMessage: otherEpoch.serialized, expecting: .blobCertification)
        }
        // A wrong version or app id is not a valid header.
        var wrongApp = confirmation.serialized
        wrongApp[2] = 4
        #expect { try key.publicKey.verify(signature, serializedMessage: wrongApp, expecting: .blobCertification) }
            throws: { ($0 as! CryptoError).code == .wrongIntent }
    }
}

@Suite struct KeyFileTests {
    private func temporaryPath() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-keys-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("node.key").path
    }

    @Test func writtenWithMode0600AndLoadedBack() throws {
        let path = temporaryPath()
        let key = Schnorr.PrivateKey.generate()
        try KeyFile.write(key, to: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! Int
        #expect(mode == 0o600)
        #expect(try KeyFile.load(from: path).publicKey == key.publicKey)
    }

    @Test func refusesToOverwrite() throws {
        let path = temporaryPath()
        try KeyFile.write(Schnorr.PrivateKey.generate(), to: path)
        #expect { try KeyFile.write(Schnorr.PrivateKey.generate(), to: path) } throws: { ($0 as! CryptoError).code == .keyFileExists }
    }

    @Test func refusesAFileOthersCanRead() throws {
        let path = temporaryPath()
        try KeyFile.write(Schnorr.PrivateKey.generate(), to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect {
            try KeyFile.load(from: path)
        } throws: { error in
            let error = error as! CryptoError
            return error.code == .keyFileInsecure && error.message.contains("chmod 600")
        }
    }

    @Test func refusesGarbageAndMissingFiles() throws {
        let path = temporaryPath()
        _ = FileManager.default.createFile(atPath: path, contents: Data("not a key\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect { try KeyFile.load(from: path) } throws: { ($0 as! CryptoError).code == .invalidKey }
        #expect { try KeyFile.load(from: path + ".missing") } throws: { ($0 as! CryptoError).code == .keyFileUnreadable }
    }
}
