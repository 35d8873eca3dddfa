import Foundation
import Testing

/// Walrus's JSON, HTTP and CLI surface as a client written for Walrus sees it: a devnet's publisher
/// and aggregator through plain HTTP, reading only the fields Walrus defines (from its
/// `responses.rs`, `move_structs.rs`, `routes.rs`, `api/errors.rs`), and the CLI's Walrus flags.
@Suite(.serialized) struct WalrusShapesTests {
    static func json(_ data: Data) -> [String: Any] { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:] }
    static func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }
    static func keys(_ object: Any?) -> Set<String> { Set((object as? [String: Any])?.keys.map { $0 } ?? []) }

    /// The fields of Walrus's `Blob` and `StorageResource`, exactly.
    static func checkBlobObject(_ object: [String: Any], size: Int, deletable: Bool) {
        #expect(keys(object) == ["id", "registeredEpoch", "blobId", "size", "encodingType", "certifiedEpoch", "storage", "deletable"], "\(object)")
        #expect(object["encodingType"] as? String == "RS2")
        #expect(object["size"] as? Int == size)
        #expect(object["deletable"] as? Bool == deletable)
        #expect(object["certifiedEpoch"] as? Int != nil, "a newly created object is certified")
        #expect((object["id"] as? String)?.count == 66)
        let storage = object["storage"] as? [String: Any] ?? [:]
        #expect(keys(storage) == ["id", "startEpoch", "endEpoch", "storageSize"], "\(storage)")
        #expect((storage["storageSize"] as? Int ?? 0) > size)
    }

    /// Walrus's error body: code and status a matching pair, one ErrorInfo with reason, domain and metadata.
    static func checkError(_ reply: DevnetTests.Reply, _ code: Int, _ status: String, _ reason: String, domain: String = "daemon.walrus.space") {
        let error = json(reply.body)["error"] as? [String: Any] ?? [:]
        #expect(reply.status == code && error["code"] as? Int == code && error["status"] as? String == status, "\(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        let info = (error["details"] as? [[String: Any]])?.first ?? [:]
        #expect(info["@type"] as? String == "ErrorInfo" && info["reason"] as? String == reason && info["domain"] as? String == domain, "\(info)")
        #expect(info["metadata"] is [String: Any], "ErrorInfo carries metadata (Walrus clients require it)")
        #expect(!(error["message"] as? String ?? "").isEmpty)
    }

    @Test func publisherAggregatorAndCLISpeakWalrus() async throws {
        let devnet = try TestDevnet(validators: 1, nodes: 3, shards: 40, plainHTTP: true)
        defer { devnet.down() }
        #expect(devnet.up.status == 0, "stderr: \(devnet.up.stderr)")
        let (dir, config) = (devnet.dir, devnet.config)
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("devnet.json"))) as? [[String: Any]] ?? []
        let gateway = "http://" + (try #require(state.first { $0["kind"] as? String == "gateway" }?["address"] as? String))
        let rpc = "http://" + (try #require(state.first { $0["kind"] as? String == "validator" }?["address"] as? String))
        let nodes = state.filter { $0["kind"] as? String == "storage-node" }.compactMap { $0["address"] as? String }

        // Publisher: a deletable blob (the default), then the same bytes again from the same wallet.
        let bytes = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        let put = try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?epochs=2&encoding_type=RS2", body: bytes)
        #expect(put.status == 200, "\(String(decoding: put.body, as: UTF8.self))")
        #expect(put.headers["content-type"] == "application/json")
        let created = Self.json(put.body)["newlyCreated"] as? [String: Any] ?? [:]
        #expect(Self.keys(created) == ["blobObject", "resourceOperation", "cost"], "\(created)")
        let object = created["blobObject"] as? [String: Any] ?? [:]
        Self.checkBlobObject(object, size: bytes.count, deletable: true)
        let operation = (created["resourceOperation"] as? [String: Any])?["registerFromScratch"] as? [String: Any] ?? [:]
        #expect(Self.keys(operation) == ["encodedLength", "epochsAhead"] && operation["epochsAhead"] as? Int == 2, "\(created)")
        #expect((created["cost"] as? Int ?? 0) > 0)
        let blobID = try #require(object["blobId"] as? String)
        let objectID = try #require(object["id"] as? String)

        let again = Self.json(try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?epochs=1", body: bytes).body)["alreadyCertified"] as? [String: Any]
        #expect(Self.keys(again) == ["blobId", "object", "endEpoch"] && again?["object"] as? String == objectID, "an owned deletable blob is named by its object: \(again ?? [:])")

        // A permanent blob: certified again as new, and then named by its certification event.
        let permanent = try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?epochs=2&permanent=true", body: bytes)
        let permanentObject = (Self.json(permanent.body)["newlyCreated"] as? [String: Any])?["blobObject"] as? [String: Any] ?? [:]
        Self.checkBlobObject(permanentObject, size: bytes.count, deletable: false)
        let byEvent = Self.json(try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?permanent=true", body: bytes).body)["alreadyCertified"] as? [String: Any]
        #expect(Self.keys(byEvent) == ["blobId", "event", "endEpoch"], "\(byEvent ?? [:])")
        let event = byEvent?["event"] as? [String: Any] ?? [:]
        #expect(Self.keys(event) == ["txDigest", "eventSeq"] && event["eventSeq"] as? String != nil, "\(event)")
        #expect((event["txDigest"] as? String).map { $0.count >= 43 && $0.count <= 44 && !$0.contains("0") && !$0.contains("l") } == true, "base58 of 32 bytes: \(event)")

        // Storage nodes report the same certification event in the blob's status.
        let status = Self.json(try await DevnetTests.http("GET", "http://\(nodes[0])/v1/blobs/\(blobID)/status").body)
        let permanentStatus = ((status["success"] as? [String: Any])?["data"] as? [String: Any])?["permanent"] as? [String: Any] ?? [:]
        #expect(Self.keys(permanentStatus) == ["endEpoch", "isCertified", "statusEvent", "deletableCounts", "initialCertifiedEpoch"], "\(status)")
        #expect(permanentStatus["isCertified"] as? Bool == true)
        #expect(permanentStatus["statusEvent"] as? [String: String] == event as? [String: String], "\(permanentStatus) vs \(event)")
        #expect((permanentStatus["deletableCounts"] as? [String: Int]) == ["count_deletable_total": 1, "count_deletable_certified": 1])

        // send_object_to: the new object belongs to the address named.
        let recipient = "0x" + String(repeating: "ab", count: 32)
        let other = Data("sent elsewhere".utf8)
        let sent = try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?send_object_to=\(recipient)", body: other)
        let sentID = try #require(((Self.json(sent.body)["newlyCreated"] as? [String: Any])?["blobObject"] as? [String: Any])?["id"] as? String)
        #expect(Self.json(try await DevnetTests.http("GET", "\(rpc)/v1/objects/\(sentID)").body)["owner"] as? String == recipient)

        // Aggregator: by blob ID, by object ID, a byte range; Walrus's headers.
        let get = try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(blobID)", headers: ["Accept": "text/plain"])
        #expect(get.status == 200 && get.body == bytes)
        #expect(get.headers["etag"] == blobID, "unquoted, as Walrus sends it")
        #expect(get.headers["cache-control"] == "public, max-age=86400, stale-while-revalidate=3600")
        #expect(get.headers["x-content-type-options"] == "nosniff")
        #expect(get.headers["content-type"] == "text/plain", "the Accept header's one type is mirrored")
        #expect(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(blobID)").headers["content-type"] == "application/octet-stream")
        #expect(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(blobID)", headers: ["If-None-Match": blobID]).status == 304)
        let byObject = try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-object-id/\(objectID)")
        #expect(byObject.status == 200 && byObject.body == bytes)
        let head = try await DevnetTests.http("HEAD", "\(gateway)/v1/blobs/by-object-id/\(objectID)")
        #expect(head.status == 200 && head.headers["content-length"] == String(bytes.count) && head.body.isEmpty)
        let range = try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(blobID)/byte-range?start=1000&length=2500")
        #expect(range.status == 200 && range.body == bytes[1000..<3500])
        #expect(range.headers["etag"] == "\(blobID)-1000-2500")

        // Errors in Walrus's envelope, with its status codes.
        Self.checkError(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(String(repeating: "A", count: 43))"), 404, "NOT_FOUND", "BLOB_NOT_FOUND")
        Self.checkError(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-object-id/0x\(String(repeating: "0", count: 64))"), 404, "NOT_FOUND", "BLOB_NOT_FOUND")
        Self.checkError(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(blobID)/byte-range?start=0&length=0"), 400, "INVALID_ARGUMENT", "INVALID_BYTE_RANGE")
        Self.checkError(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(blobID)/byte-range?start=4999&length=2"), 400, "INVALID_ARGUMENT", "INVALID_BYTE_RANGE")
        Self.checkError(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(blobID)", headers: ["Range": "bytes=9000-9001"]), 416, "RANGE_NOT_SATISFIABLE", "INVALID_BYTE_RANGE")
        Self.checkError(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(blobID)?strict_consistency_check=true&skip_consistency_check=true"), 400, "INVALID_ARGUMENT", "INVALID_CONSISTENCY_CHECK")
        Self.checkError(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(blobID)?colour=blue"), 400, "INVALID_ARGUMENT", "UNKNOWN_PARAMETER")
        Self.checkError(try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?deletable=true&permanent=true", body: bytes), 400, "INVALID_ARGUMENT", "INVALID_BLOB_PERSISTENCE")
        Self.checkError(try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?encoding_type=RS1", body: bytes), 400, "INVALID_ARGUMENT", "MALFORMED_REQUEST")
        Self.checkError(try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?share=true&deletable=true", body: bytes), 400, "INVALID_ARGUMENT", "INVALID_BLOB_PERSISTENCE")
        Self.checkError(try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?share=true&send_object_to=\(recipient)", body: bytes), 400, "INVALID_ARGUMENT", "MALFORMED_REQUEST")
        Self.checkError(try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?send_object_to=me", body: bytes), 400, "INVALID_ARGUMENT", "MALFORMED_REQUEST")
        Self.checkError(try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?epochs=1&reuse=yes", body: bytes), 400, "INVALID_ARGUMENT", "UNKNOWN_PARAMETER")
        Self.checkError(try await DevnetTests.http("GET", "http://\(nodes[0])/v1/blobs/\(blobID)/metadata/nope"), 404, "NOT_FOUND", "NOT_FOUND", domain: "storage.walrus.space")
        let status200 = try await DevnetTests.http("GET", "\(gateway)/status")
        #expect(status200.status == 200 && String(decoding: status200.body, as: UTF8.self) == "OK")

        // CLI: global options before the command, Walrus's flags and JSON shapes.
        let file = dir.appendingPathComponent("cli-file")
        try Data("stored by the CLI with --end-epoch".utf8).write(to: file)
        let info = Self.json(try ProcessRunner.run("walrus", config + ["--json", "info", "epoch"]).stdout) as? [String: Any] ?? [:]
        let epoch = try #require(info["currentEpoch"] as? Int)
        let store = try ProcessRunner.run("walrus", config + ["--json", "store", file.path, "--end-epoch", "\(epoch + 3)", "--permanent"], timeoutSeconds: 120)
        #expect(store.status == 0, "\(store.stderr)")
        let stored = (Self.json(store.stdout) as? [[String: Any]])?.first ?? [:]
        #expect(Self.keys(stored) == ["blobStoreResult", "path"] && stored["path"] as? String == file.path, "\(store.stdout)")
        let cliObject = ((stored["blobStoreResult"] as? [String: Any])?["newlyCreated"] as? [String: Any])?["blobObject"] as? [String: Any] ?? [:]
        Self.checkBlobObject(cliObject, size: 34, deletable: false)
        let cliEnd = (cliObject["storage"] as? [String: Any])?["endEpoch"] as? Int ?? 0
        #expect(cliEnd == epoch + 3 || cliEnd == epoch + 4, "--end-epoch \(epoch + 3) from epoch \(epoch) (one epoch may pass): \(cliEnd)")
        let cliBlobID = try #require(cliObject["blobId"] as? String)
        let cliObjectID = try #require(cliObject["id"] as? String)

        for reference in [["--blob-id", cliBlobID], ["--file", file.path]] {
            let status = try ProcessRunner.run("walrus", ["blob-status"] + reference + config + ["--json"])
            let output = Self.json(status.stdout) as? [String: Any] ?? [:]
            #expect(output["blobId"] as? String == cliBlobID, "\(status.stdout) \(status.stderr)")
            let permanent = (output["status"] as? [String: Any])?["permanent"] as? [String: Any]
            #expect(permanent?["isCertified"] as? Bool == true && permanent?["endEpoch"] as? Int == cliEnd, "\(status.stdout)")
            #expect((permanent?["statusEvent"] as? [String: Any])?["txDigest"] is String)
            #expect((output["file"] as? String) == reference.last.flatMap { reference.first == "--file" ? $0 : nil })
        }
        // --earliest-expiry-time: the fewest epochs whose end starts at or after the time.
        let duration = Double(((info["epochDuration"] as? [String: Any])?["secs"] as? Int) ?? 0)
        let expiry = ISO8601DateFormatter().string(from: Date().addingTimeInterval(1.5 * duration))
        let expiring = dir.appendingPathComponent("expiring")
        try Data("kept until a time, not an epoch".utf8).write(to: expiring)
        let byTime = try ProcessRunner.run("walrus", ["store", expiring.path, "--earliest-expiry-time", expiry, "--deletable", "--json"] + config, timeoutSeconds: 120)
        let timed = (((Self.json(byTime.stdout) as? [[String: Any]])?.first?["blobStoreResult"] as? [String: Any])?["newlyCreated"] as? [String: Any])?["blobObject"] as? [String: Any]
        let timedStorage = timed?["storage"] as? [String: Any] ?? [:]
        let span = (timedStorage["endEpoch"] as? Int ?? 0) - (timedStorage["startEpoch"] as? Int ?? 0)
        #expect(span == 2 || span == 3, "1.5 epochs from now ends 2 or 3 epochs after this one, by where the epoch stands: \(byTime.stdout) \(byTime.stderr)")
        #expect(timed?["deletable"] as? Bool == true)
        let timedID = try #require(timed?["blobId"] as? String)

        let extend = try ProcessRunner.run("walrus", ["extend", "--blob-obj-id", cliObjectID, "--epochs-extended", "1"] + config + ["--json"], timeoutSeconds: 120)
        #expect(extend.status == 0 && (Self.json(extend.stdout) as? [String: Any])?["endEpoch"] as? Int == cliEnd + 1, "\(extend.stdout) \(extend.stderr)")

        // `walrus json`: store and read, with the results --json prints.
        let jsonFile = dir.appendingPathComponent("json-file")
        try Data("stored through walrus json".utf8).write(to: jsonFile)
        let configPath = dir.appendingPathComponent("client_config.yaml").path
        let jsonStore = try ProcessRunner.run("walrus", ["json", #"{"config":"\#(configPath)","command":{"store":{"files":["\#(jsonFile.path)"],"epochs":2}}}"#], timeoutSeconds: 120)
        let jsonResult = (Self.json(jsonStore.stdout) as? [[String: Any]])?.first?["blobStoreResult"] as? [String: Any]
        let jsonBlobID = try #require(((jsonResult?["newlyCreated"] as? [String: Any])?["blobObject"] as? [String: Any])?["blobId"] as? String, "\(jsonStore.stdout) \(jsonStore.stderr)")
        let jsonRead = try ProcessRunner.run("walrus", ["json", #"{"config":"\#(configPath)","command":{"read":{"blobId":"\#(jsonBlobID)"}}}"#], timeoutSeconds: 120)
        let readOutput = Self.json(jsonRead.stdout) as? [String: Any] ?? [:]
        #expect(Self.keys(readOutput) == ["blobId", "blob"] && readOutput["blobId"] as? String == jsonBlobID, "\(jsonRead.stdout) \(jsonRead.stderr)")
        #expect((readOutput["blob"] as? String).flatMap { Data(base64Encoded: $0) } == Data("stored through walrus json".utf8))
        let readToFile = try ProcessRunner.run("walrus", ["read", jsonBlobID, "--out", dir.appendingPathComponent("out").path, "--json"] + config, timeoutSeconds: 120)
        #expect(Self.keys(Self.json(readToFile.stdout)) == ["out", "blobId"], "with --out the blob is not printed: \(readToFile.stdout)")
        let badJSON = try ProcessRunner.run("walrus", ["json", #"{"command":{"fly":{}}}"#])
        #expect(badJSON.status == 2 && (Self.json(badJSON.stdout) as? [String: Any])?["error"] != nil, "\(badJSON.stdout) \(badJSON.stderr)")

        // info and health as Walrus prints them.
        let all = Self.json(try ProcessRunner.run("walrus", ["info", "all", "--json"] + config).stdout) as? [String: Any] ?? [:]
        #expect(Self.keys(all) == ["epochInfo", "storageInfo", "sizeInfo", "priceInfo", "committeeInfo", "bftInfo"], "\(all)")
        #expect(Self.keys(all["epochInfo"]) == ["currentEpoch", "startOfCurrentEpoch", "epochDuration", "maxEpochsAhead"])
        #expect(Self.keys((all["epochInfo"] as? [String: Any])?["epochDuration"]) == ["secs", "nanos"])
        #expect((all["storageInfo"] as? [String: Any])?["nShards"] as? Int == 40 && (all["storageInfo"] as? [String: Any])?["nNodes"] as? Int == 3)
        #expect(Self.keys(all["bftInfo"]) == ["maxFaultyShards", "minCorrectShards", "quorumThreshold", "minNodesAbove", "shardsAbove"])
        #expect((all["bftInfo"] as? [String: Any])?["quorumThreshold"] as? Int == 27)
        let price = ((all["priceInfo"] as? [String: Any])?["encodingDependentPriceInfo"] as? [[String: Any]])?.first ?? [:]
        #expect(Self.keys(price) == ["marginalSize", "metadataPrice", "marginalPrice", "exampleBlobs", "encodingType"] && (price["exampleBlobs"] as? [Any])?.count == 3)
        let members = (all["committeeInfo"] as? [String: Any])?["storageNodes"] as? [[String: Any]] ?? []
        #expect(members.count == 3 && Self.keys(members.first) == ["name", "networkAddress", "publicKey", "networkPublicKey", "nShards", "shardIds", "nodeId", "stake"])
        #expect(members.allSatisfy { ($0["stake"] as? Int ?? 0) > 0 }, "\(members)")
        let health = Self.json(try ProcessRunner.run("walrus", ["health", "--detail", "--json"] + config).stdout) as? [String: Any] ?? [:]
        let entries = health["healthInfo"] as? [[String: Any]] ?? []
        #expect(entries.count == 3 && Self.keys(entries.first) == ["nodeId", "nodeUrl", "nodeName", "networkPublicKey", "healthInfo"], "\(health)")
        let document = (entries.first?["healthInfo"] as? [String: Any])?["Ok"] as? [String: Any] ?? [:]
        #expect(Self.keys(document) == ["uptime", "epoch", "publicKey", "nodeStatus", "eventProgress", "shardSummary", "shardDetail"], "\(document)")
        #expect(((document["eventProgress"] as? [String: Any])?["highestFinishedEventIndex"] as? Int ?? -1) > 0)
        let one = Self.json(try ProcessRunner.run("walrus", ["health", "--node-urls", nodes[1], "--json"] + config).stdout) as? [String: Any]
        #expect((one?["healthInfo"] as? [Any])?.count == 1)
        let named = members.compactMap { $0["nodeId"] as? String }.prefix(2)
        let byID = Self.json(try ProcessRunner.run("walrus", ["health", "--node-ids"] + named + ["--sort-by", "name", "--desc", "--json"] + config).stdout) as? [String: Any]
        let names = (byID?["healthInfo"] as? [[String: Any]])?.compactMap { $0["nodeName"] as? String } ?? []
        #expect(names.count == 2 && names == names.sorted(by: >), "\(names)")

        // Blob attributes: set, shown as response headers of by-object-id reads, removed.
        let set = try ProcessRunner.run("walrus", ["set-blob-attribute", cliObjectID, "--attr", "content-type", "text/html", "--attr", "content-disposition", "inline", "--attr", "x-private", "1", "--json"] + config, timeoutSeconds: 60)
        #expect(set.status == 0, "\(set.stderr)")
        let got = Self.json(try ProcessRunner.run("walrus", ["get-blob-attribute", cliObjectID, "--json"] + config).stdout) as? [String: Any]
        let contents = ((got?["attribute"] as? [String: Any])?["metadata"] as? [String: Any])?["contents"] as? [[String: String]]
        #expect(contents == [["key": "content-type", "value": "text/html"], ["key": "content-disposition", "value": "inline"], ["key": "x-private", "value": "1"]], "\(got ?? [:])")
        let page = try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-object-id/\(cliObjectID)")
        #expect(page.status == 200 && page.headers["content-type"] == "text/html" && page.headers["content-disposition"] == "inline", "\(page.headers)")
        #expect(page.headers["x-private"] == nil, "only the allowed keys become headers")
        #expect(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-object-id/\(cliObjectID)", headers: ["Accept": "text/plain"]).headers["content-type"] == "text/plain")
        #expect(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/\(cliBlobID)").headers["content-disposition"] == nil, "by blob ID there is no object, so no attribute")
        let part = try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-object-id/\(cliObjectID)", headers: ["Range": "bytes=0-3"])
        #expect(part.status == 206 && part.headers["content-disposition"] == nil)
        #expect(try ProcessRunner.run("walrus", ["remove-blob-attribute-fields", cliObjectID, "--keys", "content-disposition"] + config, timeoutSeconds: 60).status == 0)
        #expect(try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-object-id/\(cliObjectID)").headers["content-disposition"] == nil)
        let missingKey = try ProcessRunner.run("walrus", ["remove-blob-attribute-fields", cliObjectID, "--keys", "nope"] + config, timeoutSeconds: 60)
        #expect(missingKey.status == 3, "a key the attribute does not hold: \(missingKey.stderr)")
        #expect(try ProcessRunner.run("walrus", ["remove-blob-attribute", cliObjectID] + config, timeoutSeconds: 60).status == 0)
        #expect(try ProcessRunner.run("walrus", ["get-blob-attribute", cliObjectID, "--json"] + config).stdout == "{\"attribute\":null}\n")
        #expect(try ProcessRunner.run("walrus", ["set-blob-attribute", cliObjectID, "--attr", "odd"] + config).status == 2)

        // Shared blobs: stored shared, funded and extended by a second wallet from the funds.
        let sharedFile = dir.appendingPathComponent("shared-file")
        try Data("shared with everyone".utf8).write(to: sharedFile)
        let storeShared = try ProcessRunner.run("walrus", ["store", sharedFile.path, "--share", "--epochs", "2", "--json"] + config, timeoutSeconds: 120)
        let sharedCreated = ((Self.json(storeShared.stdout) as? [[String: Any]])?.first?["blobStoreResult"] as? [String: Any])?["newlyCreated"] as? [String: Any] ?? [:]
        let sharedID = try #require(sharedCreated["sharedBlobObject"] as? String, "\(storeShared.stdout) \(storeShared.stderr)")
        #expect((sharedCreated["blobObject"] as? [String: Any])?["deletable"] as? Bool == false, "a shared blob is permanent")
        let sharedEnd = ((sharedCreated["blobObject"] as? [String: Any])?["storage"] as? [String: Any])?["endEpoch"] as? Int ?? 0
        let secondKey = dir.appendingPathComponent("second.key")
        let second = try ProcessRunner.run("walrus", ["wallet", "new", "--out", secondKey.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try ProcessRunner.run("walrus", ["transfer", second, "5WAL"] + config, timeoutSeconds: 60).status == 0)
        let fund = try ProcessRunner.run("walrus", ["fund-shared-blob", "--shared-blob-obj-id", sharedID, "--amount", "1WAL", "--wallet", secondKey.path, "--json"] + config, timeoutSeconds: 60)
        #expect(Self.json(fund.stdout) as? [String: Int] == ["amount": 1_000_000_000], "\(fund.stdout) \(fund.stderr)")
        let balanceBefore = Self.json(try ProcessRunner.run("walrus", ["wallet", "balance", "--json", "--wallet", secondKey.path] + config).stdout) as? [String: Any]
        let extendShared = try ProcessRunner.run("walrus", ["extend", "--blob-obj-id", sharedID, "--shared", "--epochs-extended", "1", "--wallet", secondKey.path, "--json"] + config, timeoutSeconds: 60)
        #expect((Self.json(extendShared.stdout) as? [String: Any])?["endEpoch"] as? Int == sharedEnd + 1, "\(extendShared.stdout) \(extendShared.stderr)")
        let balanceAfter = Self.json(try ProcessRunner.run("walrus", ["wallet", "balance", "--json", "--wallet", secondKey.path] + config).stdout) as? [String: Any]
        let spent = (balanceBefore?["balanceFrost"] as? Int ?? 0) - (balanceAfter?["balanceFrost"] as? Int ?? 0)
        #expect(spent > 0 && spent < 100_000, "the second wallet paid the fee only, the funds paid the epochs: \(spent)")
        #expect(try ProcessRunner.run("walrus", ["share", "--blob-obj-id", sentID] + config, timeoutSeconds: 60).status == 2, "not this wallet's, and deletable")
        let sharedPut = try await DevnetTests.http("PUT", "\(gateway)/v1/blobs?share=true", body: Data("shared through the publisher".utf8))
        let publisherShared = try #require((Self.json(sharedPut.body)["newlyCreated"] as? [String: Any])?["sharedBlobObject"] as? String, "\(String(decoding: sharedPut.body, as: UTF8.self))")
        let readShared = try await DevnetTests.http("GET", "\(gateway)/v1/blobs/by-object-id/\(publisherShared)")
        #expect(readShared.status == 200 && readShared.body == Data("shared through the publisher".utf8))

        // delete by object ID and by file.
        let deleteByObject = try ProcessRunner.run("walrus", ["delete", "--object-id", objectID, "--yes"] + config + ["--json"], timeoutSeconds: 120)
        #expect(deleteByObject.status == 0 && deleteByObject.stdout.contains(objectID), "\(deleteByObject.stdout) \(deleteByObject.stderr)")
        let deleteByFile = try ProcessRunner.run("walrus", ["delete", "--file", jsonFile.path, "--yes"] + config + ["--json"], timeoutSeconds: 120)
        #expect(deleteByFile.status == 0 && deleteByFile.stdout.contains(jsonBlobID), "\(deleteByFile.stdout) \(deleteByFile.stderr)")
        let deleteByID = try ProcessRunner.run("walrus", ["delete", "--blob-id", timedID, "--yes"] + config + ["--json"], timeoutSeconds: 120)
        #expect(deleteByID.status == 0 && deleteByID.stdout.contains(timedID), "\(deleteByID.stdout) \(deleteByID.stderr)")
        let permanentDelete = try ProcessRunner.run("walrus", ["delete", "--object-id", cliObjectID, "--yes"] + config)
        #expect(permanentDelete.status == 2, "a permanent blob is refused: \(permanentDelete.stderr)")
    }

    @Test func convertBlobIDAndArgumentErrorsNeedNoNetwork() throws {
        // The decimal is the blob ID's 32 bytes read as a little-endian u256 (computed with Python's
        // int.from_bytes from the base64 of Walrus's docs example).
        let decimal = "33029388974007764889800497995325165905902854956237990162315138693239164143667"
        let converted = try ProcessRunner.run("walrus", ["convert-blob-id", decimal])
        #expect(converted.status == 0 && converted.stdout == "M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk\n", "\(converted.stdout) \(converted.stderr)")
        let json = try ProcessRunner.run("walrus", ["--json", "convert-blob-id", decimal])
        #expect(json.stdout == "\"M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk\"\n", "global option before the command: \(json.stdout) \(json.stderr)")
        let tooLarge = try ProcessRunner.run("walrus", ["convert-blob-id", "115792089237316195423570985008687907853269984665640564039457584007913129639936"])
        #expect(tooLarge.status == 2)
        #expect(try ProcessRunner.run("walrus", ["convert-blob-id", "12a"]).status == 2)
        let both = try ProcessRunner.run("walrus", ["store", "x", "--epochs", "2", "--end-epoch", "9"])
        #expect(both.status == 2 && both.stderr.contains("one of --epochs"), "\(both.stderr)")
        let badTime = try ProcessRunner.run("walrus", ["store", "x", "--earliest-expiry-time", "tomorrow"])
        #expect(badTime.status == 2 && badTime.stderr.contains("RFC 3339"))
        let twoNames = try ProcessRunner.run("walrus", ["blob-status", "--blob-id", "M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk", "--file", "x"])
        #expect(twoNames.status == 2)
        let notJSON = try ProcessRunner.run("walrus", ["json", "{not json"])
        #expect(notJSON.status == 2 && notJSON.stdout.contains("\"error\""))
    }
}
