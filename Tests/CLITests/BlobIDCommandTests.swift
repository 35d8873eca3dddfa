import Foundation
import Testing

@Suite struct BlobIDCommandTests {
    @Test func printsOnlyTheBlobID() throws {
        let file = try TemporaryFile(Data("some other string".utf8))
        let result = try ProcessRunner.run("walrus", ["blob-id", file.path])
        #expect(result.status == 0)
        #expect(result.stdout == "M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func readsStandardInputAndOtherShardCounts() throws {
        let result = try ProcessRunner.run("walrus", ["blob-id", "-", "--n-shards", "10"], stdin: Data("hello walrus".utf8))
        #expect(result.status == 0)
        #expect(result.stdout == "5g7EUy58ReQir0t11jz709ae5cdZT24btlovkXo28U8\n")
    }

    @Test func jsonHasTheDocumentedFields() throws {
        let file = try TemporaryFile(Data("some other string".utf8))
        let result = try ProcessRunner.run("walrus", ["blob-id", file.path, "--json"])
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(object["blobId"] as? String == "M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk")
        #expect(object["unencodedLength"] as? Int == 17)
        #expect(object["nShards"] as? Int == 1000)
        #expect(object["symbolSize"] as? Int == 2)
        #expect(object["encodedLength"] as? Int == 66_034_000)
        #expect(object["rootHash"] as? String == "e13e047c4cd7ac970de70dfc1bf77cf1d20b4a5c22fd17727dd223c2fde08c3f")
    }

    /// Files from 1 MiB on are mapped instead of read: same blob ID as the bytes read from
    /// standard input, and the same usage error when too large (n = 10: at most 1,834,952 bytes).
    @Test func aMappedFileGivesTheBlobIDOfItsBytes() throws {
        var rng = SystemRandomNumberGenerator()
        // Ending on a page boundary, one byte past one, and in the middle of a page.
        for length in [1 << 20, (1 << 20) + 1, (1 << 20) + 12_345] {
            let bytes = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) })
            let file = try TemporaryFile(bytes)
            let mapped = try ProcessRunner.run("walrus", ["blob-id", file.path, "--n-shards", "10"])
            let read = try ProcessRunner.run("walrus", ["blob-id", "-", "--n-shards", "10"], stdin: bytes)
            #expect(mapped.status == 0 && read.status == 0)
            #expect(mapped.stdout.count == 44 && mapped.stdout == read.stdout, "\(length) bytes")
        }

        let tooLarge = try TemporaryFile(Data(count: 1_834_953))
        let refused = try ProcessRunner.run("walrus", ["blob-id", tooLarge.path, "--n-shards", "10"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("1834953 bytes; the largest blob for 10 shards is 1834952 bytes"))
    }

    /// n = 4: the largest blob is 2 · 3 · 65,534 = 393,204 bytes.
    @Test func theLargestBlobWorksAndOneByteMoreIsAUsageError() throws {
        let largest = try TemporaryFile(Data(count: 393_204))
        let ok = try ProcessRunner.run("walrus", ["blob-id", largest.path, "--n-shards", "4"])
        #expect(ok.status == 0)
        #expect(ok.stdout.count == 44)

        let tooLarge = try TemporaryFile(Data(count: 393_205))
        let text = try ProcessRunner.run("walrus", ["blob-id", tooLarge.path, "--n-shards", "4"])
        #expect(text.status == 2)
        #expect(text.stdout.isEmpty)
        #expect(text.stderr.contains("393205 bytes; the largest blob for 4 shards is 393204 bytes"))

        let json = try ProcessRunner.run("walrus", ["blob-id", tooLarge.path, "--n-shards", "4", "--json"])
        #expect(json.status == 2)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: [String: Any]]
        #expect(object["error"]?["code"] as? String == "BLOB_TOO_LARGE")
        #expect(object["error"]?["retryable"] as? Bool == false)
    }

    @Test(arguments: [
        (["blob-id", "/nonexistent/file"], "cannot read"),
        (["blob-id", "-", "--n-shards", "3"], "between 4 and 32767"),
        (["blob-id"], "Missing expected argument"),
        (["blob-id", "/tmp", "--n-shards", "10"], "not a regular file"),
        (["frobnicate"], "Unexpected argument"),
        (["publisher", "--bind-address", "0.0.0.0:31999"], "--auth-token-file"),
        (["daemon", "--bind-address", "localhost"], "host:port"),
        (["devnet", "up", "--epoch-duration", "soon"], "90s, 10m or 1h"),
        (["read", "not-a-blob-id"], "blob ID"),
        // A blob ID may start with '-': it is still the blob ID, not options (-h would print help).
        (["read", "-hAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "--config", "/nonexistent/c.yaml"], "/nonexistent/c.yaml"),
        (["read", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "--config", "/nonexistent/client_config.yaml"], "/nonexistent/client_config.yaml"),
    ])
    func usageErrorsExitTwo(arguments: [String], message: String) throws {
        let result = try ProcessRunner.run("walrus", arguments, stdin: Data())
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
    }

    /// The help text users see is kept in a golden file; regenerate it with WALRUS_UPDATE_GOLDEN=1.
    @Test(arguments: [["--help"], ["blob-id", "--help"], ["store", "--help"], ["read", "--help"], ["devnet", "up", "--help"], ["daemon", "--help"]])
    func helpMatchesTheGoldenFile(arguments: [String]) throws {
        let result = try ProcessRunner.run("walrus", arguments)
        #expect(result.status == 0)
        let name = (["walrus"] + arguments.filter { $0 != "--help" }).joined(separator: "-") + "-help.txt"
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/golden/\(name)")
        if ProcessInfo.processInfo.environment["WALRUS_UPDATE_GOLDEN"] == "1" {
            try Data(result.stdout.utf8).write(to: golden)
        }
        #expect(result.stdout == (try String(contentsOf: golden, encoding: .utf8)))
    }
}
