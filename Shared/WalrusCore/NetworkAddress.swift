/// A storage node's network address as registered on chain: `host:port`, where the host is a DNS
/// name or an IPv4 address (letters, digits, '-' and '.', at most 253 bytes) or a bracketed IPv6
/// address (`[::1]:8080`), and the port is 1 to 65535. Nothing else: no scheme, path, user,
/// query or whitespace, so that an address read from the chain can never steer a request to a
/// path or a host other than the one it names.
public struct NetworkAddress: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    /// Parses and checks `text`; throws `invalidIdentifier` saying what is wrong.
    public init(parsing text: String) throws(CoreError) {
        guard text.utf8.count <= Limits.networkAddressBytesMax else {
            throw CoreError(.invalidIdentifier, "a network address has at most \(Limits.networkAddressBytesMax) bytes")
        }
        guard let colon = text.lastIndex(of: ":") else {
            throw CoreError(.invalidIdentifier, "'\(text)' is not host:port")
        }
        let hostPart = text[..<colon], portPart = text[text.index(after: colon)...]
        guard !portPart.isEmpty, portPart.utf8.count <= 5, portPart.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let port = UInt16(portPart), port > 0
        else { throw CoreError(.invalidIdentifier, "the port of '\(text)' is not a number from 1 to 65535") }
        if hostPart.hasPrefix("[") {
            let inner = hostPart.dropFirst().dropLast()
            guard hostPart.hasSuffix("]"), inner.count >= 2, inner.contains(":"),
                inner.utf8.allSatisfy({ Self.isHexDigit($0) || $0 == 0x3A || $0 == 0x2E })
            else { throw CoreError(.invalidIdentifier, "the host of '\(text)' is not a bracketed IPv6 address") }
        } else {
            guard !hostPart.isEmpty, hostPart.utf8.count <= 253,
                hostPart.utf8.allSatisfy({ Self.isHostByte($0) }),
                !hostPart.hasPrefix("-"), !hostPart.hasPrefix("."), !hostPart.contains("..")
            else { throw CoreError(.invalidIdentifier, "the host of '\(text)' is not a DNS name or an IPv4 address") }
        }
        host = String(hostPart)
        self.port = port
    }

    /// `host:port` as registered.
    public var description: String { "\(host):\(port)" }

    /// The base URL of the HTTP service at this address, without a trailing slash.
    public var httpBase: String { "http://\(host):\(port)" }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    private static func isHostByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x2E
    }
}
