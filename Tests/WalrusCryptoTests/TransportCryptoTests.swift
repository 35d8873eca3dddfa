import Foundation
import Testing
import WalrusCore
@testable import WalrusCrypto

/// The libcrypto primitives of the transport layer, against their RFCs' vectors.
struct TransportCryptoTests {
    @Test func chachaPolyMatchesRFC8439() throws {
        // RFC 8439 §2.8.2.
        let key = try Hex.decode("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
        let nonce = try Hex.decode("070000004041424344454647")
        let aad = try Hex.decode("50515253c0c1c2c3c4c5c6c7")
        let text = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let sealed = text.withUnsafeBytes { ChaChaPoly.seal(key: key, nonce: nonce, aad: aad, $0) }
        #expect(Hex.encode(Array(sealed.suffix(16))) == "1ae10b594f09e26a7e902ecbd0600691")
        #expect(Hex.encode(Array(sealed.prefix(16))) == "d31a8d34648e60db7b86afbc53ef7ec2")
        #expect(sealed.withUnsafeBytes { ChaChaPoly.open(key: key, nonce: nonce, aad: aad, $0) } == text)
        // Any flipped bit, another nonce or other associated data is refused.
        for index in [0, 57, sealed.count - 1] {
            var forged = sealed
            forged[index] ^= 1
            #expect(forged.withUnsafeBytes { ChaChaPoly.open(key: key, nonce: nonce, aad: aad, $0) } == nil)
        }
        #expect(sealed.withUnsafeBytes { ChaChaPoly.open(key: key, nonce: try! Hex.decode("070000004041424344454648"), aad: aad, $0) } == nil)
        #expect(sealed.withUnsafeBytes { ChaChaPoly.open(key: key, nonce: nonce, aad: [], $0) } == nil)
        #expect([UInt8](repeating: 0, count: 15).withUnsafeBytes { ChaChaPoly.open(key: key, nonce: nonce, $0) } == nil)
    }

    @Test func x25519MatchesRFC7748() throws {
        // RFC 7748 §6.1.
        let alice = try Hex.decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        let bobPublic = try Hex.decode("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        #expect(X25519.sharedSecret(privateKey: alice, peer: bobPublic).map(Hex.encode) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        let a = X25519.keyPair(), b = X25519.keyPair()
        #expect(X25519.sharedSecret(privateKey: a.privateKey, peer: b.publicKey) == X25519.sharedSecret(privateKey: b.privateKey, peer: a.publicKey))
        // A low-order point gives the all-zero secret, which is refused.
        #expect(X25519.sharedSecret(privateKey: alice, peer: [UInt8](repeating: 0, count: 32)) == nil)
        #expect(X25519.sharedSecret(privateKey: alice, peer: [1, 2, 3]) == nil)
    }

    @Test func networkKeysAndTheirCertificates() throws {
        let key = NetworkPrivateKey.generate()
        #expect(key.publicKey.bytes.count == 33 && [2, 3].contains(key.publicKey.bytes[0]))
        #expect(try NetworkPublicKey(bytes: key.publicKey.bytes) == key.publicKey)
        #expect(try NetworkPrivateKey(pem: key.pem).publicKey == key.publicKey)
        // Off-curve and malformed keys are refused.
        var offCurve = key.publicKey.bytes
        offCurve[0] = 4
        #expect(throws: CryptoError.self) { try NetworkPublicKey(bytes: offCurve) }
        #expect(throws: CryptoError.self) { try NetworkPublicKey(bytes: [2] + [UInt8](repeating: 0xff, count: 32)) }
        #expect(throws: CryptoError.self) { try NetworkPrivateKey(scalar: [UInt8](repeating: 0, count: 32)) }
        #expect(throws: CryptoError.self) { try NetworkPrivateKey(scalar: [UInt8](repeating: 0xff, count: 32)) }
        #expect(throws: CryptoError.self) { try NetworkPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }

        // The self-signed certificate: OpenSSL's own tool reads it, with the key and the names.
        let (certificate, _) = try key.selfSignedCertificate(hosts: ["127.0.0.1", "node-1.example"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("netkey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("cert.pem").path
        try certificate.write(toFile: path, atomically: true, encoding: .utf8)
        let text = try Self.run("/usr/bin/openssl", ["x509", "-in", path, "-noout", "-text"])
        #expect(text.contains("DNS:\(key.publicKey.tlsName)") && text.contains("IP Address:127.0.0.1") && text.contains("DNS:node-1.example"), "\(text)")
        #expect(text.contains("ecdsa-with-SHA256") && text.contains("prime256v1"))
        let spki = try Self.runData("/usr/bin/openssl", ["x509", "-in", path, "-noout", "-pubkey"])
        let der = try Self.runData("/usr/bin/openssl", ["pkey", "-pubin", "-outform", "DER"], input: spki)
        #expect(try NetworkPublicKey(subjectPublicKeyInfo: Array(der)) == key.publicKey)
        #expect(throws: CryptoError.self) { try NetworkPublicKey(subjectPublicKeyInfo: Array(der.dropLast())) }

        // Key files: ours and PEM load to the same key; a readable file is refused.
        let file = directory.appendingPathComponent("network.key").path
        try KeyFile.write(key, to: file)
        #expect(try KeyFile.loadNetworkKey(from: file).publicKey == key.publicKey)
        let pemFile = directory.appendingPathComponent("network.pem").path
        FileManager.default.createFile(atPath: pemFile, contents: Data(try key.pem.utf8), attributes: [.posixPermissions: 0o600])
        #expect(try KeyFile.loadNetworkKey(from: pemFile).publicKey == key.publicKey)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pemFile)
        #expect(throws: CryptoError.self) { try KeyFile.loadNetworkKey(from: pemFile) }
    }

    @Test func tlsNameIsWalrusDerivation() throws {
        let key = try NetworkPublicKey(bytes: NetworkPrivateKey.generate().publicKey.bytes)
        let expected = key.bytes.prefix(4).map { String($0, radix: 16) }.joined()
        #expect(key.tlsName == expected + ".network.walrus.alt")
        #expect(!key.tlsName.hasPrefix("0") || key.bytes[0] < 16)
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> String { String(decoding: try runData(tool, arguments), as: UTF8.self) }

    static func runData(_ tool: String, _ arguments: [String], input: Data? = nil) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe(), inputPipe = Pipe()
        process.standardOutput = output
        if input != nil { process.standardInput = inputPipe }
        try process.run()
        if let input {
            inputPipe.fileHandleForWriting.write(input)
            try inputPipe.fileHandleForWriting.close()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }
}
