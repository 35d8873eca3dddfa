import Foundation

/// A strict parser of the Prometheus text exposition format (version 0.0.4): `# HELP` and
/// `# TYPE` lines, samples `name{label="value",…} value`, label escapes, and the rules a
/// scraper enforces: valid names, one TYPE per family before its samples, no duplicate series,
/// histograms with cumulative buckets ending in `+Inf` equal to `_count`.
struct PrometheusText {
    struct Sample: Hashable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ line: Int, _ reason: String) { description = "line \(line): \(reason)" }
    }

    private(set) var types: [String: String] = [:]
    private(set) var samples: [Sample] = []

    init(_ text: String) throws {
        var seen = Set<String>()
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
                if parts.count >= 3, parts[1] == "TYPE" {
                    guard Self.isName(parts[2]), parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                        throw Invalid(number + 1, "bad TYPE line")
                    }
                    guard types[parts[2]] == nil else { throw Invalid(number + 1, "a second TYPE for \(parts[2])") }
                    guard !samples.contains(where: { Self.family($0.name, types: [parts[2]: parts[3]]) == parts[2] }) else {
                        throw Invalid(number + 1, "TYPE of \(parts[2]) after its samples")
                    }
                    types[parts[2]] = parts[3]
                }
                continue
            }
            let sample = try Self.sample(line, number + 1)
            let key = sample.name + "{" + sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
            guard seen.insert(key).inserted else { throw Invalid(number + 1, "duplicate series \(key)") }
            samples.append(sample)
        }
        try checkHistograms()
    }

    static func isName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || first == ":" || CharacterSet.letters.contains(first) && first.isASCII else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0 == ":" || CharacterSet.alphanumerics.contains($0)) }
    }

    static func family(_ name: String, types: [String: String]) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return name
    }

    private static func sample(_ line: String, _ number: Int) throws -> Sample {
        var chars = Array(line.unicodeScalars)[...]
        var name = ""
        while let c = chars.first, c != "{", c != " " { name.unicodeScalars.append(c); chars = chars.dropFirst() }
        guard isName(name) else { throw Invalid(number, "bad metric name '\(name)'") }
        var labels: [String: String] = [:]
        if chars.first == "{" {
            chars = chars.dropFirst()
            while chars.first != "}" {
                var label = ""
                while let c = chars.first, c != "=" { label.unicodeScalars.append(c); chars = chars.dropFirst() }
                guard isName(label), !label.hasPrefix("__"), chars.first == "=" else { throw Invalid(number, "bad label name '\(label)'") }
                chars = chars.dropFirst()
                guard chars.first == "\"" else { throw Invalid(number, "label value not quoted") }
                chars = chars.dropFirst()
                var value = ""
                while true {
                    guard let c = chars.first else { throw Invalid(number, "unterminated label value") }
                    chars = chars.dropFirst()
                    if c == "\"" { break }
                    if c == "\\" {
                        guard let escaped = chars.first else { throw Invalid(number, "dangling escape") }
                        chars = chars.dropFirst()
                        switch escaped {
                        case "n": value += "\n"
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        default: throw Invalid(number, "bad escape")
                        }
                    } else {
                        value.unicodeScalars.append(c)
                    }
                }
                guard labels.updateValue(value, forKey: label) == nil else { throw Invalid(number, "label \(label) twice") }
                if chars.first == "," { chars = chars.dropFirst() } else if chars.first != "}" { throw Invalid(number, "expected , or }") }
            }
            chars = chars.dropFirst()
        }
        guard chars.first == " " else { throw Invalid(number, "no value") }
        let fields = String(String.UnicodeScalarView(chars.dropFirst())).split(separator: " ")
        guard (1...2).contains(fields.count) else { throw Invalid(number, "bad value field") }
        let text = String(fields[0])
        let value: Double? = switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
        guard let value else { throw Invalid(number, "value '\(text)' is not a number") }
        if fields.count == 2, Int64(fields[1]) == nil { throw Invalid(number, "bad timestamp") }
        return Sample(name: name, labels: labels, value: value)
    }

    private func checkHistograms() throws {
        for (family, type) in types where type == "histogram" {
            var series: [[String: String]: [(Double, Double)]] = [:]
            for sample in samples where sample.name == family + "_bucket" {
                guard let le = sample.labels["le"], let bound = le == "+Inf" ? .infinity : Double(le) else { throw Invalid(0, "\(family) bucket without le") }
                var rest = sample.labels
                rest["le"] = nil
                series[rest, default: []].append((bound, sample.value))
            }
            for (labels, buckets) in series {
                let sorted = buckets.sorted { $0.0 < $1.0 }
                guard sorted.last?.0 == .infinity else { throw Invalid(0, "\(family)\(labels) has no +Inf bucket") }
                for (a, b) in zip(sorted, sorted.dropFirst()) where b.1 < a.1 { throw Invalid(0, "\(family)\(labels) buckets are not cumulative") }
                guard let count = samples.first(where: { $0.name == family + "_count" && $0.labels == labels })?.value, count == sorted.last!.1 else {
                    throw Invalid(0, "\(family)\(labels): _count is not the +Inf bucket")
                }
            }
        }
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
    }
}
