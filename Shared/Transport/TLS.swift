public import HTTPKit
public import NIOCore
import NIOSSL
import Synchronization
public import WalrusCrypto

/// A TLS setup that cannot be made, with the reason and what to do.
public struct TransportError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The server side of TLS: a certificate chain and its key. A storage node serves a certificate
/// for its network key, self-signed or issued by an authority. `reload` swaps in a renewed
/// certificate for new connections (SIGHUP); connections already open keep theirs.
public final class TLSServer: HTTPServerSecurity {
    private let context: Mutex<NIOSSLContext>
    /// The network key the served certificate carries (nil: not a P-256 key, as a gateway's
    /// certificate from an authority may be).
    public let networkKey: NetworkPublicKey?

    /// A server for `certificatePEM` (a chain, leaf first) and its private key. Refuses a chain
    /// whose leaf does not carry `expectedKey` (the node's registered network key) when given.
    public init(certificatePEM: String, keyPEM: String, expectedKey: NetworkPublicKey? = nil) throws(TransportError) {
        let (context, key) = try TLSServer.makeContext(certificatePEM: certificatePEM, keyPEM: keyPEM, expectedKey: expectedKey)
        self.context = Mutex(context)
        networkKey = key
    }

    /// A server with a fresh self-signed certificate for `key`, naming `hosts` besides the key's
    /// Walrus name (`<hex>.network.walrus.alt`).
    public convenience init(selfSigned key: NetworkPrivateKey, hosts: [String]) throws(TransportError) {
        let pair: (certificatePEM: String, keyPEM: String)
        do { pair = try key.selfSignedCertificate(hosts: hosts) } catch { throw TransportError(error.message) }
        try self.init(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM, expectedKey: key.publicKey)
    }

    /// Serves `certificatePEM` from the next connection on; it must carry the same key.
    public func reload(certificatePEM: String, keyPEM: String) throws(TransportError) {
        let (fresh, _) = try TLSServer.makeContext(certificatePEM: certificatePEM, keyPEM: keyPEM, expectedKey: networkKey)
        context.withLock { $0 = fresh }
    }

    public func addHandlers(to channel: any Channel) throws {
        let context = self.context.withLock { $0 }
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
    }

    private static func makeContext(certificatePEM: String, keyPEM: String, expectedKey: NetworkPublicKey?) throws(TransportError) -> (NIOSSLContext, NetworkPublicKey?) {
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
            guard let leaf = chain.first else { throw TransportError("the certificate file holds no certificate") }
            let key = try? NetworkPublicKey(subjectPublicKeyInfo: try leaf.extractPublicKey().toSPKIBytes())
            if let expectedKey, key != expectedKey {
                throw TransportError(
                    "the certificate is for key \(key.map(\.description) ?? "(not P-256)"), not the node's network key \(expectedKey); a node's certificate must be issued for its network key")
            }
            let privateKey = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
            configuration.minimumTLSVersion = .tlsv12
            return (try NIOSSLContext(configuration: configuration), key)
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError("cannot set up TLS with this certificate and key: \(error)")
        }
    }
}

/// The client side: with a pin (the network key the committee registered for the node), the
/// server's certificate must carry that key, whoever signed it and whatever its dates (as Walrus
/// clients pin nodes); a certificate for any other key is refused before a byte of HTTP is sent.
/// Without a pin, the usual verification: a chain to the system's (or the given) roots, for the host.
public final class TLSClient: HTTPClientSecurity {
    private let pinned: NIOSSLContext
    private let verified: NIOSSLContext

    /// `caCertificatesPEM`: extra roots trusted for unpinned connections (a devnet's or a
    /// company's authority), besides the system's.
    public init(caCertificatesPEM: String? = nil) throws(TransportError) {
        do {
            var pinning = TLSConfiguration.makeClientConfiguration()
            pinning.certificateVerification = .noHostnameVerification
            pinning.minimumTLSVersion = .tlsv12
            pinned = try NIOSSLContext(configuration: pinning)
            var verifying = TLSConfiguration.makeClientConfiguration()
            verifying.minimumTLSVersion = .tlsv12
            if let caCertificatesPEM {
                verifying.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMBytes(Array(caCertificatesPEM.utf8)))]
            }
            verified = try NIOSSLContext(configuration: verifying)
        } catch {
            throw TransportError("cannot set up TLS for clients: \(error)")
        }
    }

    /// A client with the system's roots only, or nil when TLS cannot be set up at all.
    public static let shared: TLSClient? = try? TLSClient()

    public func addHandlers(to channel: any Channel, host: String, pin: [UInt8]?) throws {
        // SNI takes names, never IP addresses.
        let name = host.allSatisfy({ $0.isNumber || $0 == "." }) || host.contains(":") || host.hasPrefix("[") ? nil : host
        guard let pin else {
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: verified, serverHostname: name))
            return
        }
        let handler = try NIOSSLClientHandler(context: pinned, serverHostname: name) { certificates, promise in
            promise.succeed(TLSClient.matches(certificates.first, pin: pin) ? .certificateVerified : .failed)
        }
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// Whether `leaf` carries the P-256 key `pin`.
    static func matches(_ leaf: NIOSSLCertificate?, pin: [UInt8]) -> Bool {
        guard let leaf, let spki = try? leaf.extractPublicKey().toSPKIBytes(), let key = try? NetworkPublicKey(subjectPublicKeyInfo: spki) else { return false }
        return key.bytes == pin
    }
}
