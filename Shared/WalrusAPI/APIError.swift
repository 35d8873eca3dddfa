/// The error classes of Walrus's JSON error body (AIP-193) with the one HTTP code each goes with:
/// Walrus clients refuse a body whose `code` and `status` do not match this table.
public enum APIStatusCode: String, Codable, Sendable, CaseIterable {
    case unavailableForLegalReasons = "UNAVAILABLE_FOR_LEGAL_REASONS"
    case invalidArgument = "INVALID_ARGUMENT"
    case notFound = "NOT_FOUND"
    case failedPrecondition = "FAILED_PRECONDITION"
    case permissionDenied = "PERMISSION_DENIED"
    case sizeExceeded = "SIZE_EXCEEDED"
    case internalError = "INTERNAL"
    case deadlineExceeded = "DEADLINE_EXCEEDED"
    case unauthenticated = "UNAUTHENTICATED"
    case rangeNotSatisfiable = "RANGE_NOT_SATISFIABLE"
    case resourceExhausted = "RESOURCE_EXHAUSTED"
    case unavailable = "UNAVAILABLE"

    public var httpCode: Int {
        switch self {
        case .unavailableForLegalReasons: 451
        case .invalidArgument, .failedPrecondition: 400
        case .notFound: 404
        case .permissionDenied, .sizeExceeded: 403
        case .internalError: 500
        case .deadlineExceeded: 504
        case .unauthenticated: 401
        case .rangeNotSatisfiable: 416
        case .resourceExhausted: 429
        case .unavailable: 503
        }
    }
}

/// The error domains Walrus uses in `ErrorInfo.domain`.
public enum APIErrorDomain {
    /// Storage nodes.
    public static let storageNode = "storage.walrus.space"
    /// The aggregator and publisher.
    public static let daemon = "daemon.walrus.space"
    /// Errors common to every service (unknown routes, for one).
    public static let global = "global"
}

/// A JSON value: an error's metadata carries whatever the error names (a shard, an epoch).
public enum JSONValue: Codable, Hashable, Sendable {
    case string(String)
    case number(Double)
    case integer(Int64)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int64.self) { self = .integer(v) }
        else if let v = try? c.decode(Double.self) { self = .number(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else if let v = try? c.decode([JSONValue].self) { self = .array(v) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let v): try c.encode(v)
        case .number(let v): try c.encode(v)
        case .integer(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .null: try c.encodeNil()
        case .array(let v): try c.encode(v)
        case .object(let v): try c.encode(v)
        }
    }
}

/// Walrus's JSON error body: `{"error":{"code","status","message","details":[{"@type":"ErrorInfo",
/// "reason","domain","metadata"}]}}`. Decoding refuses a `code` that is not `status`'s HTTP code,
/// as Walrus clients do.
public struct APIErrorBody: Codable, Hashable, Sendable, Error {
    public var status: APIStatusCode
    public var message: String
    public var reason: String
    public var domain: String
    public var metadata: [String: JSONValue]

    public init(_ status: APIStatusCode, reason: String, domain: String, _ message: String, metadata: [String: JSONValue] = [:]) {
        self.status = status
        self.reason = reason
        self.domain = domain
        self.message = message
        self.metadata = metadata
    }

    public var httpCode: Int { status.httpCode }

    private enum Keys: String, CodingKey { case error }
    private enum InnerKeys: String, CodingKey { case code, status, message, details }
    private enum DetailKeys: String, CodingKey {
        case type = "@type"
        case reason, domain, metadata
    }

    public init(from decoder: any Decoder) throws {
        let outer = try decoder.container(keyedBy: Keys.self)
        let inner = try outer.nestedContainer(keyedBy: InnerKeys.self, forKey: .error)
        status = try inner.decode(APIStatusCode.self, forKey: .status)
        let code = try inner.decode(Int.self, forKey: .code)
        guard code == status.httpCode else {
            throw DecodingError.dataCorruptedError(forKey: .code, in: inner, debugDescription: "error status (\(status.rawValue)) and code (\(code)) do not correspond")
        }
        message = try inner.decode(String.self, forKey: .message)
        var details = try inner.nestedUnkeyedContainer(forKey: .details)
        var info: (String, String, [String: JSONValue])?
        while !details.isAtEnd {
            let detail = try details.nestedContainer(keyedBy: DetailKeys.self)
            guard try detail.decode(String.self, forKey: .type) == "ErrorInfo", info == nil else { continue }
            info = (try detail.decode(String.self, forKey: .reason), try detail.decode(String.self, forKey: .domain),
                    try detail.decode([String: JSONValue].self, forKey: .metadata))
        }
        guard let info else {
            throw DecodingError.dataCorruptedError(forKey: .details, in: inner, debugDescription: "the details hold no ErrorInfo")
        }
        (reason, domain, metadata) = info
    }

    public func encode(to encoder: any Encoder) throws {
        var outer = encoder.container(keyedBy: Keys.self)
        var inner = outer.nestedContainer(keyedBy: InnerKeys.self, forKey: .error)
        try inner.encode(status.httpCode, forKey: .code)
        try inner.encode(status, forKey: .status)
        try inner.encode(message, forKey: .message)
        var details = inner.nestedUnkeyedContainer(forKey: .details)
        var detail = details.nestedContainer(keyedBy: DetailKeys.self)
        try detail.encode("ErrorInfo", forKey: .type)
        try detail.encode(reason, forKey: .reason)
        try detail.encode(domain, forKey: .domain)
        try detail.encode(metadata, forKey: .metadata)
    }
}
