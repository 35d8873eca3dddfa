import Foundation
import Testing
import WalrusAPI
import WalrusCore

/// The wire types against golden JSON written from Walrus's source and docs
/// (Tests/Fixtures/walrus-json/README.md names each file's source).
@Suite struct GoldenJSONTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/walrus-json")

    static func golden(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// Both documents as JSON values (key order and whitespace do not matter; names, types and
    /// values do).
    static func sameJSON(_ a: [UInt8], _ b: [UInt8]) throws -> Bool {
        let x = try JSONSerialization.jsonObject(with: Data(a), options: [.fragmentsAllowed]) as? NSObject
        let y = try JSONSerialization.jsonObject(with: Data(b), options: [.fragmentsAllowed]) as? NSObject
        return x != nil && x == y
    }

    /// Decodes the golden file and encodes it again: the same JSON must come out.
    static func roundTrip<T: Codable>(_ type: T.Type, _ name: String) throws -> T {
        let bytes = try golden(name)
        let value = try WalrusJSON.decode(T.self, from: bytes)
        let again = WalrusJSON.encode(value)
        #expect(try sameJSON(bytes, again), "\(name): re-encoded as \(String(decoding: again, as: UTF8.self))")
        return value
    }

    @Test(arguments: [
        "store-newly-created.json", "store-newly-created-deletable.json", "store-already-certified-event.json",
        "store-already-certified-object.json", "store-marked-invalid.json", "store-error.json", "store-reuse-and-extend.json",
    ])
    func storeResultsRoundTrip(_ name: String) throws {
        _ = try Self.roundTrip(BlobStoreResult.self, name)
    }

    @Test func theDocsExampleDecodesToTheRightValues() throws {
        let result = try Self.roundTrip(BlobStoreResult.self, "store-newly-created.json")
        guard case let .newlyCreated(blob, operation, cost, shared) = result else {
            Issue.record("not newlyCreated: \(result)")
            return
        }
        #expect(blob.blobId.description == "M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk")
        #expect(blob.id.description == "0xe91eee8c5b6f35b9a250cfc29e30f0d9e5463a21fd8d1ddb0fc22d44db4eac50")
        #expect(blob.size == 17 && blob.certifiedEpoch == 34 && blob.registeredEpoch == 34 && !blob.deletable)
        #expect(blob.storage.endEpoch == 35 && blob.storage.storageSize == 66_034_000)
        #expect(operation == .registerFromScratch(encodedLength: 66_034_000, epochsAhead: 1))
        #expect(cost == 132_300 && shared == nil)
        #expect(result.endEpoch == 35)
    }

    @Test func anUncertifiedObjectWritesCertifiedEpochAsNull() throws {
        let result = try Self.roundTrip(BlobStoreResult.self, "store-newly-created-deletable.json")
        let text = String(decoding: WalrusJSON.encode(result), as: UTF8.self)
        #expect(text.contains("\"certifiedEpoch\":null"))
        #expect(!text.contains("sharedBlobObject"), "absent, not null, when no shared object was made")
    }

    @Test func alreadyCertifiedFlattensTheEventOrTheObject() throws {
        let byEvent = try Self.roundTrip(BlobStoreResult.self, "store-already-certified-event.json")
        guard case .alreadyCertified(_, 35, .event(let event)) = byEvent else {
            Issue.record("\(byEvent)")
            return
        }
        #expect(event.transactionDigest?.count == 32 && event.sequence == 0)
        let byObject = try Self.roundTrip(BlobStoreResult.self, "store-already-certified-object.json")
        guard case .alreadyCertified(_, 35, .object) = byObject else {
            Issue.record("\(byObject)")
            return
        }
    }

    @Test func theErrorBodyRoundTripsAndKeepsItsMetadata() throws {
        let body = try Self.roundTrip(APIErrorBody.self, "error-shard-not-assigned.json")
        #expect(body.status == .failedPrecondition && body.httpCode == 400)
        #expect(body.reason == "SHARD_NOT_ASSIGNED")
        #expect(body.metadata["shard"] == .integer(0) && body.metadata["epoch"] == .integer(17))
    }

    @Test func everyStatusHasTheHTTPCodeWalrusPairsItWith() {
        let expected: [APIStatusCode: Int] = [
            .unavailableForLegalReasons: 451, .invalidArgument: 400, .notFound: 404, .failedPrecondition: 400, .permissionDenied: 403,
            .sizeExceeded: 403, .internalError: 500, .deadlineExceeded: 504, .unauthenticated: 401, .rangeNotSatisfiable: 416,
            .resourceExhausted: 429, .unavailable: 503,
        ]
        for status in APIStatusCode.allCases { #expect(status.httpCode == expected[status], "\(status)") }
    }

    @Test func hostileJSONIsRefused() {
        let refused: [(String, String)] = [
            ("code and status disagree", #"{"error":{"code":404,"status":"INTERNAL","message":"m","details":[{"@type":"ErrorInfo","reason":"R","domain":"d","metadata":{}}]}}"#),
            ("no ErrorInfo", #"{"error":{"code":500,"status":"INTERNAL","message":"m","details":[]}}"#),
            ("ErrorInfo without metadata", #"{"error":{"code":500,"status":"INTERNAL","message":"m","details":[{"@type":"ErrorInfo","reason":"R","domain":"d"}]}}"#),
        ]
        for (why, text) in refused {
            #expect(throws: (any Error).self, "\(why)") { try WalrusJSON.decode(APIErrorBody.self, from: Array(text.utf8)) }
        }
        let badResults = [
            #"{"newlyCreated":{},"error":{}}"#,
            #"{"alreadyCertified":{"blobId":"M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk","endEpoch":1}}"#,
            #"{"alreadyCertified":{"blobId":"short","endEpoch":1,"object":"0x11"}}"#,
            #"{"markedInvalid":{"blobId":"M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk","event":{"txDigest":"0OIl","eventSeq":"0"}}}"#,
            #"{"markedInvalid":{"blobId":"M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk","event":{"txDigest":"4XQHFa9S324wTzYHF3vsBSwpUZuLpmwTHYMFv9nsttSs","eventSeq":"-1"}}}"#,
            #"{"newlyCreated":{"blobObject":{},"resourceOperation":{"bogus":{"encodedLength":1}},"cost":1}}"#,
        ]
        for text in badResults {
            #expect(throws: (any Error).self, "\(text)") { try WalrusJSON.decode(BlobStoreResult.self, from: Array(text.utf8)) }
        }
    }

    @Test(arguments: ["blob-status-permanent.json", "blob-status-deletable.json", "blob-status-invalid.json", "blob-status-nonexistent.json"])
    func blobStatusesRoundTrip(_ name: String) throws {
        _ = try Self.roundTrip(BlobStatus.self, name)
    }

    @Test func theNodeDocumentsRoundTrip() throws {
        let health = try Self.roundTrip(NodeSuccess<ServiceHealthInfo>.self, "node-health.json").success.data
        #expect(health.uptime.secs == 3600 && health.uptime.nanos == 250_000_000 && health.eventProgress.highestFinishedEventIndex == 1199)
        #expect(health.shardDetail?.owned.map(\.status) == ["ready", "inTransfer"])
        let confirmation = try Self.roundTrip(NodeSuccess<StorageConfirmation>.self, "node-confirmation.json").success.data
        #expect(confirmation.signed.signature == [0xde, 0xad, 0xbe, 0xef])
        let attestation = try Self.roundTrip(NodeSuccess<SignedMessage>.self, "node-attestation.json").success.data
        #expect(attestation.serializedMessage.first == 2)
        // A health document without the detail leaves the key out, as Walrus does.
        let plain = ServiceHealthInfo(
            uptime: .init(seconds: 1.5), epoch: 1, publicKey: "", nodeStatus: "Standby",
            eventProgress: .init(persisted: 0, pending: 0, highestFinishedEventIndex: nil),
            shardSummary: .init(owned: 0, ownedShardStatus: .init(unknown: 0, ready: 0, inTransfer: 0, inRecovery: 0), readOnly: 0), shardDetail: nil)
        let text = String(decoding: WalrusJSON.encode(plain), as: UTF8.self)
        #expect(!text.contains("shardDetail") && text.contains("\"highestFinishedEventIndex\":null") && text.contains("\"nanos\":500000000"))
    }

    @Test func storedEventIDsComeBackFromBCS() throws {
        let event = EventID(transactionDigest: Array(0..<32), sequence: 7)
        #expect(try EventID.decode(bcs: event.bcsBytes) == event)
        #expect(throws: (any Error).self) { try EventID.decode(bcs: Array(event.bcsBytes.dropLast())) }
    }

    @Test func base58MatchesSuiDigests() {
        // The docs' event digest is 32 bytes; encoding them again gives the same text.
        let text = "4XQHFa9S324wTzYHF3vsBSwpUZuLpmwTHYMFv9nsttSs"
        let bytes = Base58.decode(text)
        #expect(bytes?.count == 32)
        #expect(bytes.map(Base58.encode) == text)
        // Leading zero bytes are leading '1's; the empty input is the empty text.
        #expect(Base58.encode([0, 0, 1]) == "112")
        #expect(Base58.decode("112") == [0, 0, 1])
        #expect(Base58.encode([]) == "")
        #expect(Base58.decode("0") == nil && Base58.decode("l") == nil && Base58.decode("é") == nil)
        // Every 32-byte value comes back.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let value = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(Base58.decode(Base58.encode(value)) == value)
        }
    }
}
