import Foundation
import Testing

/// Quilts end to end with real processes: 1,000 small files as one quilt on a devnet of 1,501
/// shards (a quilt holds one file per column but the index's: 1,000 for 1,501 shards, 666 for
/// 1,000), every file read back by identifier and by patch ID through the CLI and the aggregator.
@Suite(.serialized) struct QuiltProcessTests {
    @Test func thousandFilesInOneQuilt() async throws {
        let devnet = try TestDevnet(validators: 1, nodes: 4, shards: 1501)
        defer { devnet.down() }
        #expect(devnet.up.status == 0, "stderr: \(devnet.up.stderr)")
        let config = devnet.config
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: devnet.dir.appendingPathComponent("devnet.json"))) as? [[String: Any]] ?? []
        let gateway = "http://" + (try #require(state.first { $0["kind"] as? String == "gateway" }?["address"] as? String))

        let input = devnet.dir.appendingPathComponent("quilt-input")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        var contents: [String: Data] = [:]
        for i in 0..<1000 {
            let name = String(format: "file-%04d.txt", i)
            let data = Data((0..<(300 + (i * 37) % 1700)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) })
            contents[name] = data
            try data.write(to: input.appendingPathComponent(name))
        }
        let store = try ProcessRunner.run("walrus", config + ["--json", "store-quilt", "--paths", input.path, "--epochs", "2"], timeoutSeconds: 300)
        #expect(store.status == 0, "\(store.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(store.stdout.utf8)) as? [String: Any] ?? [:]
        let patches = (result["storedQuiltBlobs"] as? [[String: String]]) ?? []
        #expect(patches.count == 1000)
        let object = ((result["blobStoreResult"] as? [String: Any])?["newlyCreated"] as? [String: Any])?["blobObject"] as? [String: Any] ?? [:]
        let quiltID = try #require(object["blobId"] as? String)
        let patchIDs = Dictionary(uniqueKeysWithValues: patches.compactMap { p in p["identifier"].flatMap { id in p["quiltPatchId"].map { (id, $0) } } })
        #expect(patchIDs.values.allSatisfy { $0.hasPrefix(quiltID) && $0.count == 50 })
        // The quilt object carries Walrus's type attribute.
        let attribute = try ProcessRunner.run("walrus", config + ["get-blob-attribute", try #require(object["id"] as? String)])
        #expect(attribute.stdout.contains("_walrusBlobType\tquilt"), "\(attribute.stdout) \(attribute.stderr)")

        // CLI: every file by identifier, then every file by patch ID, into directories.
        let byName = devnet.dir.appendingPathComponent("by-name"), byID = devnet.dir.appendingPathComponent("by-id")
        let names = contents.keys.sorted()
        let readNames = try ProcessRunner.run("walrus", config + ["read-quilt", "--quilt-id", quiltID, "--out", byName.path, "--identifiers"] + names, timeoutSeconds: 300)
        #expect(readNames.status == 0, "\(readNames.stderr)")
        let readIDs = try ProcessRunner.run("walrus", config + ["read-quilt", "--out", byID.path, "--quilt-patch-ids"] + names.compactMap { patchIDs[$0] }, timeoutSeconds: 300)
        #expect(readIDs.status == 0, "\(readIDs.stderr)")
        var mismatches = 0
        for name in names {
            if (try? Data(contentsOf: byName.appendingPathComponent(name))) != contents[name] { mismatches += 1 }
            if (try? Data(contentsOf: byID.appendingPathComponent(name))) != contents[name] { mismatches += 1 }
        }
        #expect(mismatches == 0)
        let listing = try ProcessRunner.run("walrus", config + ["list-patches-in-quilt", quiltID])
        #expect(listing.stdout.split(separator: "\n").count == 1000)

        // Aggregator: every file by quilt ID and identifier, and by patch ID, eight at a time.
        let failures = await withTaskGroup(of: Int.self) { group in
            var next = 0
            func launch() {
                guard next < names.count else { return }
                let name = names[next], id = patchIDs[name] ?? "", expected = contents[name]
                next += 1
                group.addTask {
                    var failed = 0
                    for url in ["\(gateway)/v1/blobs/by-quilt-id/\(quiltID)/\(name)", "\(gateway)/v1/blobs/by-quilt-patch-id/\(id)"] {
                        guard let reply = try? await DevnetTests.http("GET", url), reply.status == 200, reply.body == expected,
                            reply.headers["x-quilt-patch-identifier"] == name, reply.headers["etag"] == quiltID
                        else { failed += 1; continue }
                    }
                    return failed
                }
            }
            for _ in 0..<8 { launch() }
            var failures = 0
            while let failed = await group.next() {
                failures += failed
                launch()
            }
            return failures
        }
        #expect(failures == 0, "\(failures) of 2000 aggregator reads failed")
        let list = try await DevnetTests.http("GET", "\(gateway)/v1/quilts/\(quiltID)/patches")
        let items = (try? JSONSerialization.jsonObject(with: list.body)) as? [[String: Any]] ?? []
        #expect(items.count == 1000 && Set(items.first?.keys.map { $0 } ?? []) == ["identifier", "patch_id", "tags"])

        // A quilt of 1,001 files does not fit 1,501 shards: refused before anything is spent.
        try Data([1]).write(to: input.appendingPathComponent("one-too-many"))
        let tooMany = try ProcessRunner.run("walrus", config + ["store-quilt", "--paths", input.path], timeoutSeconds: 120)
        #expect(tooMany.status != 0 && tooMany.stderr.contains("at most 1000"), "\(tooMany.stderr)")
    }

    /// Tags as headers and Walrus's multipart upload, through the publisher and aggregator.
    @Test func publisherQuiltWithTags() async throws {
        let devnet = try TestDevnet(validators: 1, nodes: 3, shards: 40)
        defer { devnet.down() }
        #expect(devnet.up.status == 0, "stderr: \(devnet.up.stderr)")
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: devnet.dir.appendingPathComponent("devnet.json"))) as? [[String: Any]] ?? []
        let gateway = "http://" + (try #require(state.first { $0["kind"] as? String == "gateway" }?["address"] as? String))
        let boundary = "------------------------quilt"
        var body = Data()
        for (name, data) in [("index.html", "<h1>hi</h1>"), ("style.css", "h1{}")] {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(name)\"\r\n\r\n\(data)\r\n".utf8)
        }
        body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"_metadata\"\r\n\r\n[{\"identifier\":\"index.html\",\"tags\":{\"content-type\":\"text/html\",\"x-secret\":\"no\"}}]\r\n--\(boundary)--\r\n".utf8)
        let put = try await DevnetTests.http("PUT", "\(gateway)/v1/quilts?epochs=1&permanent=true", body: body, headers: ["content-type": "multipart/form-data; boundary=\(boundary)"])
        #expect(put.status == 200, "\(String(decoding: put.body, as: UTF8.self))")
        let result = (try? JSONSerialization.jsonObject(with: put.body)) as? [String: Any] ?? [:]
        let stored = result["storedQuiltBlobs"] as? [[String: String]] ?? []
        #expect(stored.map { $0["identifier"] ?? "" } == ["index.html", "style.css"])
        let page = try #require(stored.first?["quiltPatchId"])
        let reply = try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-quilt-patch-id/\(page)")
        #expect(reply.status == 200 && reply.body == Data("<h1>hi</h1>".utf8))
        #expect(reply.headers["content-type"] == "text/html", "the content-type tag is served")
        #expect(reply.headers["x-secret"] == nil, "tags outside --allowed-headers are not")
        let quiltID = String(page.prefix(43))
        let css = try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-quilt-id/\(quiltID)/style.css")
        #expect(css.status == 200 && css.headers["content-type"] == "application/octet-stream" && css.body == Data("h1{}".utf8))
        let missing = try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-quilt-id/\(quiltID)/nope.txt")
        #expect(missing.status == 404)
        let badID = try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-quilt-patch-id/\(quiltID)AAAAAAA")
        #expect(badID.status == 400)
        let notMultipart = try await DevnetTests.http("PUT", "\(gateway)/v1/quilts", body: Data("x".utf8))
        #expect(notMultipart.status == 400)
    }
}
