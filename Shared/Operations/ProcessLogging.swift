import Foundation
public import Logging
import Synchronization

/// How log lines look: `text` for people, `json` (one object per line) for log collectors.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// swift-log for a whole process: lines on stderr (results stay on stdout), in text or JSON, at
/// a level SIGHUP can change while the process runs. Metadata (blob ID, shard, epoch, peer) goes
/// with each line as keys: `blob_id=… shard=7` in text, fields in JSON.
public enum ProcessLogging {
    static let level = Mutex<Logger.Level>(.info)
    static let format = Mutex<LogFormat>(.text)
    private static let bootstrapped = Mutex(false)

    /// Sets swift-log's backend (once per process; later calls only change format and level).
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        self.format.withLock { $0 = format }
        self.level.withLock { $0 = level }
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        if first { LoggingSystem.bootstrap { StderrLogHandler(label: $0) } }
    }

    /// The level from now on, for every logger of the process.
    public static func setLevel(_ level: Logger.Level) { self.level.withLock { $0 = level } }
    public static var currentLevel: Logger.Level { level.withLock { $0 } }

    /// Parses `trace`, `debug`, `info`, `notice`, `warning` (or `warn`), `error`, `critical`.
    public static func parseLevel(_ text: String) -> Logger.Level? {
        let lowered = text.lowercased()
        return lowered == "warn" ? .warning : Logger.Level(rawValue: lowered)
    }
}

/// Writes each record as one line on stderr with a single write(2), so that lines from
/// concurrent tasks never interleave.
struct StderrLogHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    /// A level set on one logger; nil follows the process's level.
    private var ownLevel: Logger.Level?

    init(label: String) { self.label = label }

    var logLevel: Logger.Level {
        get { ownLevel ?? ProcessLogging.currentLevel }
        set { ownLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line = StderrLogHandler.line(
            time: Date(), level: event.level, label: label, message: "\(event.message)", metadata: merged,
            format: ProcessLogging.format.withLock { $0 })
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(2, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    static func line(time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, format: LogFormat) -> String {
        let stamp = timestamp(time)
        let keys = metadata.keys.sorted()
        switch format {
        case .text:
            var line = "\(stamp) \(level.rawValue.uppercased()) \(label): \(message)"
            for key in keys { line += " \(key)=\(flatten(metadata[key]!))" }
            return line
        case .json:
            var line = "{\"ts\":\"\(stamp)\",\"level\":\"\(level.rawValue)\",\"logger\":\(quote(label)),\"msg\":\(quote(message))"
            for key in keys where !["ts", "level", "logger", "msg"].contains(key) { line += ",\(quote(key)):\(quote(flatten(metadata[key]!)))" }
            return line + "}"
        }
    }

    static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let value): value.description
        case .array(let values): "[" + values.map(flatten).joined(separator: ",") + "]"
        case .dictionary(let entries): "{" + entries.keys.sorted().map { "\($0)=\(flatten(entries[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// RFC 3339 in UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour),
            Int(parts.tm_min), Int(parts.tm_sec), Int(ms % 1000))
    }
}
