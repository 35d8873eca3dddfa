#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One part of a `multipart/form-data` body (RFC 7578): its field name, file name and content.
public struct MultipartPart: Sendable {
    public let name: String
    public let filename: String?
    public let contentType: String?
    public let body: ArraySlice<UInt8>
}

/// Why a multipart body was refused.
public struct MultipartError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A bounded parser of `multipart/form-data` bodies (RFC 7578, RFC 2046 §5.1): every part must
/// carry a `Content-Disposition: form-data; name="…"`; part headers are limited in size and the
/// parts in number; delimiters are found with `memmem` (linear time whatever the body holds).
public enum Multipart {
    /// Bytes of one part's header block.
    public static let headerBytesMax = 16 << 10

    /// The boundary of a `multipart/form-data` content type, if it is one.
    public static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: " \t") }
        guard let type = pieces.first, type.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].trimmingCharacters(in: " \t").lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingCharacters(in: " \t")
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            // RFC 2046: 1 to 70 characters.
            guard (1...70).contains(value.utf8.count), !value.utf8.contains(where: { $0 < 0x20 || $0 > 0x7e }) else { return nil }
            return value
        }
        return nil
    }

    /// The parts of `body`, at most `partsMax` of them.
    public static func parse(_ body: [UInt8], boundary: String, partsMax: Int) throws(MultipartError) -> [MultipartPart] {
        let dash = Array("--".utf8) + Array(boundary.utf8)
        let delimiter = Array("\r\n".utf8) + dash
        // The first delimiter may start the body (no preamble) or follow a preamble and CRLF.
        var position: Int
        if body.starts(with: dash) {
            position = dash.count
        } else if let at = find(delimiter, in: body, from: 0) {
            position = at + delimiter.count
        } else {
            throw MultipartError("the body has no boundary '\(boundary)'")
        }
        var parts: [MultipartPart] = []
        while true {
            // After a delimiter: "--" closes the body; otherwise optional whitespace and CRLF.
            if position + 2 <= body.count, body[position] == UInt8(ascii: "-"), body[position + 1] == UInt8(ascii: "-") { return parts }
            while position < body.count, body[position] == UInt8(ascii: " ") || body[position] == UInt8(ascii: "\t") { position += 1 }
            guard position + 2 <= body.count, body[position] == 13, body[position + 1] == 10 else {
                throw MultipartError("a boundary is not followed by a line break or '--'")
            }
            position += 2
            guard parts.count < partsMax else { throw MultipartError("more than \(partsMax) parts") }
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: body, from: position, limit: headerBytesMax + 4) else {
                // A part without headers ends its (empty) header block at once.
                if body[position...].starts(with: [13, 10]) {
                    throw MultipartError("a part has no Content-Disposition header")
                }
                throw MultipartError("a part's headers do not end within \(headerBytesMax) bytes")
            }
            let headers = try parseHeaders(body[position..<headerEnd])
            let contentStart = headerEnd + 4
            guard let end = find(delimiter, in: body, from: contentStart) else {
                throw MultipartError("the body ends inside a part (no closing boundary)")
            }
            parts.append(MultipartPart(name: headers.name, filename: headers.filename, contentType: headers.contentType, body: body[contentStart..<end]))
            position = end + delimiter.count
        }
    }

    static func parseHeaders(_ block: ArraySlice<UInt8>) throws(MultipartError) -> (name: String, filename: String?, contentType: String?) {
        guard let text = String(validating: block, as: UTF8.self) else { throw MultipartError("a part's headers are not UTF-8") }
        var name: String?
        var filename: String?
        var contentType: String?
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { throw MultipartError("a part header line has no ':'") }
            let field = line[..<colon].trimmingCharacters(in: " \t").lowercased()
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: " \t")
            switch field {
            case "content-disposition":
                let params = try parameters(value)
                guard params.type.lowercased() == "form-data" else { throw MultipartError("a part's Content-Disposition is '\(params.type.prefix(32))', not form-data") }
                name = params.values["name"]
                filename = params.values["filename"]
            case "content-type":
                contentType = value
            default:
                continue
            }
        }
        guard let name else { throw MultipartError("a part has no Content-Disposition name") }
        return (name, filename, contentType)
    }

    /// `type; key=value; key="quoted \"value\""`.
    static func parameters(_ value: String) throws(MultipartError) -> (type: String, values: [String: String]) {
        let scalars = Array(value.unicodeScalars)
        var i = 0
        func skipSpace() { while i < scalars.count, scalars[i] == " " || scalars[i] == "\t" { i += 1 } }
        func token() -> String {
            var out = String.UnicodeScalarView()
            while i < scalars.count, scalars[i] != ";", scalars[i] != "=", scalars[i] != " ", scalars[i] != "\t" { out.append(scalars[i]); i += 1 }
            return String(out)
        }
        skipSpace()
        let type = token()
        var values: [String: String] = [:]
        while true {
            skipSpace()
            guard i < scalars.count else { break }
            guard scalars[i] == ";" else { throw MultipartError("malformed Content-Disposition parameters") }
            i += 1
            skipSpace()
            if i >= scalars.count { break }
            let key = token().lowercased()
            skipSpace()
            guard i < scalars.count, scalars[i] == "=" else { throw MultipartError("Content-Disposition parameter '\(key.prefix(32))' has no value") }
            i += 1
            skipSpace()
            var parsed = String.UnicodeScalarView()
            if i < scalars.count, scalars[i] == "\"" {
                i += 1
                var closed = false
                while i < scalars.count {
                    if scalars[i] == "\\", i + 1 < scalars.count { parsed.append(scalars[i + 1]); i += 2; continue }
                    if scalars[i] == "\"" { closed = true; i += 1; break }
                    parsed.append(scalars[i])
                    i += 1
                }
                guard closed else { throw MultipartError("an unclosed quoted Content-Disposition value") }
            } else {
                parsed = token().unicodeScalars
            }
            guard values[key] == nil else { throw MultipartError("Content-Disposition parameter '\(key.prefix(32))' is given twice") }
            values[key] = String(parsed)
        }
        return (type, values)
    }

    /// The first index at or after `from` where `needle` starts (within `limit` bytes when given).
    /// Candidates are found with `memchr` on the needle's first byte; each is compared in full.
    /// For a needle whose first byte does not recur in it (a delimiter starts with its only CR)
    /// the compared stretches never overlap, so the search is linear in the haystack.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int, limit: Int? = nil) -> Int? {
        guard from <= haystack.count, !needle.isEmpty else { return nil }
        let span = min(haystack.count - from, limit ?? Int.max)
        guard span >= needle.count else { return nil }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                let base = hay.baseAddress! + from
                var offset = 0
                while offset + pin.count <= span {
                    guard let hit = memchr(base + offset, Int32(pin[0]), span - pin.count + 1 - offset) else { return nil }
                    let at = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + at, pin.baseAddress!, pin.count) == 0 { return from + at }
                    offset = at + 1
                }
                return nil
            }
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let drop = Set(set.unicodeScalars)
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, drop.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, drop.contains(last) { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
