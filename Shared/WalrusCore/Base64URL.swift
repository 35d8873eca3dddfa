/// URL-safe base64 without padding (RFC 4648 §5), the text form of blob IDs.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Encodes bytes without `=` padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for shift in stride(from: 18, through: 0, by: -6) { out.append(alphabet[Int(v >> UInt32(shift) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes unpadded URL-safe base64. Rejects padding, characters of other alphabets, an
    /// impossible length, and non-zero trailing bits (so that every byte string has one text form).
    public static func decode(_ text: String) throws(CoreError) -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.count % 4 != 1 else {
            throw CoreError(.invalidIdentifier, "base64url text of \(utf8.count) characters cannot be decoded")
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for (position, c) in utf8.enumerated() {
            let v = reverse[Int(c)]
            guard v != 0xff else {
                let shown = c == UInt8(ascii: "=") ? "padding '='" : "character '\(Character(Unicode.Scalar(c)))'"
                throw CoreError(.invalidIdentifier, "base64url text has \(shown) at position \(position); use URL-safe base64 without padding")
            }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        guard acc & ((1 << UInt32(bits)) - 1) == 0 else {
            throw CoreError(.invalidIdentifier, "base64url text has non-zero trailing bits")
        }
        return out
    }
}
