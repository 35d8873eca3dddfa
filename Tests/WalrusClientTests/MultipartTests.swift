import Foundation
import Testing
import WalrusCore
@testable import Gateway
@testable import HTTPKit

/// The publisher's multipart parser: what curl -F sends, and hostile bodies refused without a crash.
@Suite struct MultipartTests {
    static func body(_ boundary: String, _ parts: [(String, String?, [UInt8])], preamble: String = "") -> [UInt8] {
        var out = Array(preamble.utf8)
        for (name, filename, data) in parts {
            out += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"".utf8)
            if let filename { out += Array("; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream".utf8) }
            out += Array("\r\n\r\n".utf8) + data + Array("\r\n".utf8)
        }
        return out + Array("--\(boundary)--\r\n".utf8)
    }

    @Test func partsAsCurlSendsThem() throws {
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=------------------------abc123") == "------------------------abc123")
        #expect(Multipart.boundary(contentType: "Multipart/Form-Data; charset=utf-8; boundary=\"q u\"") == "q u")
        #expect(Multipart.boundary(contentType: "application/octet-stream") == nil)
        #expect(Multipart.boundary(contentType: "multipart/form-data") == nil)
        // A part's content may hold CRLFs, dashes and a prefix of the delimiter.
        let tricky = Array("line\r\n--boundar\r\n-- x".utf8) + [0, 255, 13, 10]
        let body = Self.body("boundary", [("a.txt", "a.txt", tricky), ("empty", nil, []), ("_metadata", nil, Array("[]".utf8))], preamble: "ignored\r\n")
        let parts = try Multipart.parse(body, boundary: "boundary", partsMax: 10)
        #expect(parts.map(\.name) == ["a.txt", "empty", "_metadata"])
        #expect(Array(parts[0].body) == tricky)
        #expect(parts[0].filename == "a.txt" && parts[0].contentType == "application/octet-stream")
        #expect(parts[1].body.isEmpty)
    }

    @Test func quiltFieldsBecomeFiles() throws {
        let body = Self.body("b", [("page.html", "p", Array("<p>".utf8)), ("_metadata", nil, Array(#"[{"identifier":"page.html","tags":{"content-type":"text/html","n":5}}]"#.utf8))])
        let request = HTTPRequest(method: .PUT, path: "/v1/quilts", query: [:], body: body, headers: ["content-type": "multipart/form-data; boundary=b"])
        let files = try Gateway.quiltFiles(request).get()
        #expect(files.count == 1 && files[0].identifier == "page.html" && files[0].data == Array("<p>".utf8))
        #expect(files[0].tag("content-type") == "text/html" && files[0].tag("n") == "5")
        for (parts, why) in [
            ([("_x", nil, [UInt8]())], "a field starting with _"),
            ([("a", nil, [1]), ("a", nil, [2])], "a duplicate identifier"),
            ([("_metadata", nil, Array("{}".utf8))], "metadata that is not a list"),
            ([("a", nil, [1]), ("_metadata", nil, Array(#"[{"identifier":"a"},{"identifier":"a"}]"#.utf8))], "duplicate metadata"),
            ([("bad ", nil, [1])], "an identifier with trailing whitespace"),
            ([("_metadata", nil, Array("[]".utf8))], "no files"),
        ] as [([(String, String?, [UInt8])], String)] {
            let request = HTTPRequest(method: .PUT, path: "/v1/quilts", query: [:], body: Self.body("b", parts), headers: ["content-type": "multipart/form-data; boundary=b"])
            guard case .failure(let refusal) = Gateway.quiltFiles(request) else { Issue.record("accepted \(why)"); continue }
            #expect(refusal.response.status == .badRequest, "\(why)")
        }
        let noBoundary = HTTPRequest(method: .PUT, path: "/v1/quilts", query: [:], body: [1], headers: ["content-type": "text/plain"])
        #expect((try? Gateway.quiltFiles(noBoundary).get()) == nil)
    }

    @Test func hostileBodiesAreRefused() throws {
        let good = Self.body("zz", [("a", nil, [1, 2, 3]), ("b", nil, [4])])
        for bad in [
            Array("no boundary here".utf8),
            Array("--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated".utf8),
            Array("--zz\r\nContent-Type: x\r\n\r\nno name\r\n--zz--".utf8),
            Array("--zz\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--zz--".utf8),
            Array("--zz\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--zz--".utf8),
            Array("--zzjunk".utf8),
            Array("--zz\r\n".utf8) + [UInt8](repeating: 65, count: Multipart.headerBytesMax + 10),
        ] {
            #expect(throws: MultipartError.self) { try Multipart.parse(bad, boundary: "zz", partsMax: 10) }
        }
        #expect(throws: MultipartError.self) { try Multipart.parse(good, boundary: "zz", partsMax: 1) }
        // Every prefix and random corruption: refused or parsed, never a crash.
        var generator = SeededGenerator(seed: 7)
        for cut in 0..<good.count { _ = try? Multipart.parse(Array(good.prefix(cut)), boundary: "zz", partsMax: 10) }
        for _ in 0..<2000 {
            var body = good
            body[Int.random(in: 0..<body.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            _ = try? Multipart.parse(body, boundary: "zz", partsMax: 10)
        }
        // Many near-delimiters in a large part stay linear (this would take minutes if quadratic).
        let noise = [UInt8](repeating: 0, count: 0) + Array(String(repeating: "\r\n--z", count: 400_000).utf8)
        let large = Self.body("zz", [("big", nil, noise)])
        let parts = try Multipart.parse(large, boundary: "zz", partsMax: 2)
        #expect(parts.first?.body.count == noise.count)
    }
}
