import Foundation
@testable import HTTPKit
import Testing

/// The routers' JSON writer: exact text for the shapes the servers answer with, and the same
/// values as Foundation's reader sees them for everything else.
@Suite struct JSONTextTests {
    @Test func writesSortedCompactText() {
        let value: [String: Any] = [
            "success": ["code": 201, "message": "sliver stored"], "b": true, "a": [1, -2, "x"], "n": NSNull(), "f": 1.5,
            "u": UInt64.max, "whole": 3.0,
        ]
        let text = String(decoding: JSONText.encode(value)!, as: UTF8.self)
        #expect(text == #"{"a":[1,-2,"x"],"b":true,"f":1.5,"n":null,"success":{"code":201,"message":"sliver stored"},"u":18446744073709551615,"whole":3}"#)
    }

    @Test func escapesStrings() {
        let text = String(decoding: JSONText.encode(["k": "q\"b\\s/\n\t\u{01}é"])!, as: UTF8.self)
        #expect(text == #"{"k":"q\"b\\s/\n\t\u0001é"}"#)
        let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
        #expect(parsed?["k"] == "q\"b\\s/\n\t\u{01}é")
    }

    @Test func readsBackAsFoundationDoes() throws {
        let optional: Int? = nil
        let value: [String: Any] = [
            "nested": [["epoch": UInt32(7), "ok": false, "ratio": 0.25]], "number": NSNumber(value: 42), "flag": NSNumber(value: true),
            "missing": optional as Any, "int8": UInt8(255), "neg": Int64.min,
        ]
        let bytes = try #require(JSONText.encode(value))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect((parsed["number"] as? NSNumber)?.intValue == 42)
        #expect(parsed["flag"] as? Bool == true)
        #expect(parsed["missing"] is NSNull)
        #expect((parsed["int8"] as? NSNumber)?.intValue == 255)
        #expect((parsed["neg"] as? NSNumber)?.int64Value == Int64.min)
        let nested = try #require(parsed["nested"] as? [[String: Any]])
        #expect((nested[0]["epoch"] as? NSNumber)?.intValue == 7)
        #expect(nested[0]["ok"] as? Bool == false)
        #expect((nested[0]["ratio"] as? NSNumber)?.doubleValue == 0.25)
    }

    @Test func refusesWhatJSONCannotSay() {
        #expect(JSONText.encode(["x": Double.nan]) == nil)
        #expect(JSONText.encode(["x": Date()]) == nil)
    }
}
