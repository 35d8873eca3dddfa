/// A stable, machine-readable error code: the JSON `error.code`, the log field, the thing a script
/// may match on. Each area declares its codes as static constants of its own code type.
public protocol StableCode: Hashable, Sendable, CustomStringConvertible {
    var rawValue: String { get }
    init(_ rawValue: String)
}

extension StableCode {
    public var description: String { rawValue }
}

/// The shape of every area's error (STYLE.md): a stable code, a message that says what failed and
/// how to fix it, and whether retrying can help.
public protocol CodedError: Error, CustomStringConvertible, Sendable {
    associatedtype Code: StableCode
    var code: Code { get }
    var message: String { get }
    var isRetryable: Bool { get }
}

extension CodedError {
    public var description: String { "\(code): \(message)" }
}
