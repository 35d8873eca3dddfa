import Foundation

/// JSON text of the values the routers answer with (dictionaries with string keys, arrays,
/// strings, booleans, integers, doubles, NSNumber and NSNull), keys sorted by their UTF-8 bytes so
/// the same answer always has the same bytes. Foundation's writer sorts keys with a locale-aware
/// comparison, which costs a storage node a tenth of a millisecond for each two-field answer.
public enum JSONText {
    /// The JSON text of `value`; nil when it holds something JSON cannot express (a non-finite
    /// double, or a type outside the list).
    public static func encode(_ value: Any) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        return write(value, into: &out) ? out : nil
    }

    private static func write(_ value: Any, into out: inout [UInt8]) -> Bool {
        // Swift values by their exact type first: on Linux every integer and Bool also casts to
        // NSNumber, which would go through a double.
        switch ObjectIdentifier(type(of: value)) {
        case ObjectIdentifier(Bool.self): out.append(contentsOf: Array(((value as! Bool) ? "true" : "false").utf8))
        case ObjectIdentifier(Int.self): out.append(contentsOf: Array(String(value as! Int).utf8))
        case ObjectIdentifier(Int64.self): out.append(contentsOf: Array(String(value as! Int64).utf8))
        case ObjectIdentifier(Int32.self): out.append(contentsOf: Array(String(value as! Int32).utf8))
        case ObjectIdentifier(UInt.self): out.append(contentsOf: Array(String(value as! UInt).utf8))
        case ObjectIdentifier(UInt64.self): out.append(contentsOf: Array(String(value as! UInt64).utf8))
        case ObjectIdentifier(UInt32.self): out.append(contentsOf: Array(String(value as! UInt32).utf8))
        case ObjectIdentifier(UInt16.self): out.append(contentsOf: Array(String(value as! UInt16).utf8))
        case ObjectIdentifier(UInt8.self): out.append(contentsOf: Array(String(value as! UInt8).utf8))
        case ObjectIdentifier(Double.self):
            let double = value as! Double
            guard double.isFinite else { return false }
            out.append(contentsOf: Array(formatDouble(double).utf8))
        default:
            return writeOther(value, into: &out)
        }
        return true
    }

    private static func writeOther(_ value: Any, into out: inout [UInt8]) -> Bool {
        switch value {
        case let string as String:
            writeString(string, into: &out)
        case let dictionary as [String: Any]:
            out.append(UInt8(ascii: "{"))
            let keys = dictionary.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                guard write(dictionary[key]!, into: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (i, element) in array.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                guard write(element, into: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case is NSNull:
            out.append(contentsOf: Array("null".utf8))
        case let number as NSNumber:
            return writeNumber(number, into: &out)
        default:
            // An optional inside Any (an optional value in a literal): null, or what it wraps.
            let mirror = Mirror(reflecting: value)
            guard mirror.displayStyle == .optional else { return false }
            guard let wrapped = mirror.children.first?.value else {
                out.append(contentsOf: Array("null".utf8))
                return true
            }
            return write(wrapped, into: &out)
        }
        return true
    }

    private static func writeNumber(_ number: NSNumber, into out: inout [UInt8]) -> Bool {
        if String(cString: number.objCType) == "c" {  // How Foundation stores a boolean.
            out.append(contentsOf: number.boolValue ? Array("true".utf8) : Array("false".utf8))
            return true
        }
        let double = number.doubleValue
        if double.rounded() == double, let exact = Int64(exactly: double) {
            out.append(contentsOf: Array(String(exact).utf8))
        } else if let exact = UInt64(exactly: double), exact == number.uint64Value {
            out.append(contentsOf: Array(String(exact).utf8))
        } else {
            guard double.isFinite else { return false }
            out.append(contentsOf: Array(formatDouble(double).utf8))
        }
        return true
    }

    /// Integral doubles without a fraction (as Foundation writes them), others in Swift's shortest
    /// round-tripping form.
    private static func formatDouble(_ double: Double) -> String {
        if double.rounded() == double, abs(double) < 1e15 { return String(Int64(double)) }
        return "\(double)"
    }

    private static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
