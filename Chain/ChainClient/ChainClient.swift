public import ChainTypes
public import Foundation
import LightClient
import Synchronization
import HTTPKit
import Transport
public import WalrusAPI
public import WalrusCore
import WalrusCrypto

/// The error of the chain client. `unavailable` is retryable (no validator answered in time).
public struct ChainClientError: CodedError, Equatable {
    public struct Code: StableCode {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public static let unavailable = Code("CHAIN_UNAVAILABLE")
        public static let rejected = Code("TRANSACTION_REJECTED")
        public static let failed = Code("TRANSACTION_FAILED")
        public static let notFound = Code("NOT_FOUND")
        public static let verification = Code("VERIFICATION_FAILED")
        public static let malformed = Code("MALFORMED_RESPONSE")
        /// A genesis or config file that is missing or wrong.
        public static let config = Code("CONFIG")
    }

    public let code: Code
    public let message: String
    /// For a transaction refused at admission (`rejected`) or failed when executed (`failed`): the
    /// ledger's stable code (`LedgerError.Code`), to match on instead of the message.
    public let ledgerCode: LedgerError.Code?
    public var isRetryable: Bool { code == .unavailable }

    public init(_ code: Code, _ message: String, ledgerCode: LedgerError.Code? = nil) {
        self.code = code
        self.message = message
        self.ledgerCode = ledgerCode
    }
}

/// A typed client of the validators' RPC. It tries the endpoints in turn, so one validator down
/// does not stop it; every call has a timeout.
public final class ChainClient: Sendable {
    public let endpoints: [URL]
    public let timeoutSeconds: Double
    private let http: HTTPClient
    /// Validator sets trusted through verified hand-overs, by chain ID and genesis-set hash.
    let trustedSets = Mutex<[String: ValidatorHistory]>([:])

    /// Endpoints that could not be reached lately, until when they are asked last: a validator that
    /// is down or cut off costs one connect timeout per `unreachableSeconds`, not one per call.
    private let unreachable = Mutex<[URL: Date]>([:])
    static let unreachableSeconds = 30.0
    /// How long a connect to a validator may take before it counts as unreachable.
    public static let connectTimeoutSeconds = 1.5

    /// The endpoints in the order to ask them: reachable ones first, in their configured order.
    var orderedEndpoints: [URL] {
        let now = Date()
        let down = unreachable.withLock { map in map.filter { $0.value > now } }
        return endpoints.filter { down[$0] == nil } + endpoints.filter { down[$0] != nil }
    }

    /// The endpoints not known to be unreachable, or all of them when none is.
    var reachableEndpoints: [URL] {
        let reachable = endpoints.filter { !isUnreachable($0) }
        return reachable.isEmpty ? endpoints : reachable
    }

    /// Whether `endpoint` failed to connect or answer in time lately.
    func isUnreachable(_ endpoint: URL) -> Bool { unreachable.withLock { ($0[endpoint] ?? .distantPast) > Date() } }

    private func noteReachable(_ endpoint: URL, _ reachable: Bool) {
        unreachable.withLock { map in
            if reachable { map[endpoint] = nil } else { map[endpoint] = Date().addingTimeInterval(Self.unreachableSeconds) }
        }
    }

    /// The largest answer taken from a validator: a block of the largest size with its framing.
    public static let responseBytesMax = 48 << 20

    public init(endpoints: [URL], timeoutSeconds: Double = 10) {
        precondition(!endpoints.isEmpty, "at least one RPC endpoint")
        self.endpoints = endpoints
        self.timeoutSeconds = timeoutSeconds
        // An https:// RPC URL (a validator behind a TLS proxy) is verified against the system's roots.
        http = HTTPClient(security: TLSClient.shared)
    }

    // MARK: - Transport

    struct Response {
        let status: Int
        let body: Data
    }

    /// One request, to each endpoint in turn until one answers below 500: through the project's
    /// NIO client, with the call's timeout and a cap on the answer's bytes.
    func send(
        _ path: String, method: String = "GET", body: [UInt8]? = nil, timeout: Double? = nil, only: URL? = nil
    ) async throws(ChainClientError) -> Response {
        var lastError = "no endpoint answered"
        for endpoint in only.map({ [$0] }) ?? orderedEndpoints {
            var base = endpoint.absoluteString
            while base.hasSuffix("/") { base.removeLast() }
            do {
                let response = try await http.request(
                    method == "POST" ? .POST : .GET, base + path, body: body.map { .bytes($0) }, timeoutSeconds: timeout ?? timeoutSeconds,
                    connectTimeoutSeconds: Self.connectTimeoutSeconds, responseBytesMax: Self.responseBytesMax)
                noteReachable(endpoint, true)
                if response.status >= 500 {
                    lastError = "\(endpoint) answered \(response.status)"
                    continue
                }
                return Response(status: response.status, body: Data(response.body))
            } catch {
                if error.code == .connect || error.code == .timeout { noteReachable(endpoint, false) }
                lastError = "\(endpoint): \(error.message)"
            }
        }
        throw ChainClientError(.unavailable, "no validator answered (\(lastError)); check that the chain is running and the RPC URLs in the config")
    }

    func json(_ path: String, timeout: Double? = nil, only: URL? = nil) async throws(ChainClientError) -> [String: Any] {
        let response = try await send(path, timeout: timeout, only: only)
        guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw ChainClientError(.malformed, "\(path) did not answer JSON")
        }
        if response.status == 404 { throw ChainClientError(.notFound, errorMessage(object) ?? "\(path) not found") }
        guard response.status < 400 else { throw ChainClientError(.malformed, errorMessage(object) ?? "\(path) failed with \(response.status)") }
        return object
    }

    /// A JSON answer decoded as a wire type; an error body or a value that does not decode is an error.
    func decoded<T: Decodable>(_ type: T.Type, _ path: String, timeout: Double? = nil) async throws(ChainClientError) -> T {
        let body = try await jsonBody(path, timeout: timeout)
        do { return try JSONDecoder().decode(T.self, from: body) } catch {
            throw ChainClientError(.malformed, "\(path) answered JSON that is not a \(T.self): \(error)")
        }
    }

    /// The body of a successful answer; an error status is an error (404: `.notFound`).
    func jsonBody(_ path: String, timeout: Double? = nil) async throws(ChainClientError) -> Data {
        let response = try await send(path, timeout: timeout, only: nil)
        guard response.status < 400 else {
            let message = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]).flatMap(errorMessage)
            throw ChainClientError(response.status == 404 ? .notFound : .malformed, message ?? "\(path) failed with \(response.status)")
        }
        return response.body
    }

    private func errorMessage(_ object: [String: Any]) -> String? { (object["error"] as? [String: Any])?["message"] as? String }

    func bcs<T: BCSDecodable>(_ type: T.Type, _ path: String) async throws(ChainClientError) -> T {
        let response = try await send(path)
        guard response.status == 200 else { throw ChainClientError(.notFound, "\(path): status \(response.status)") }
        do { return try T.decode(bcs: Array(response.body)) } catch { throw ChainClientError(.malformed, "\(path): \(error.message)") }
    }

    // MARK: - Queries

    public struct Health: Sendable {
        public let chainID: String
        public let genesisHash: String
        public let height: UInt64
        public let epoch: Epoch
    }

    public func health() async throws(ChainClientError) -> Health {
        let o = try await json("/v1/health")
        guard let chainID = o["chainId"] as? String, let hash = o["genesisHash"] as? String, let height = (o["height"] as? NSNumber)?.uint64Value,
            let epoch = (o["epoch"] as? NSNumber)?.uint32Value
        else { throw ChainClientError(.malformed, "health answer is incomplete") }
        return Health(chainID: chainID, genesisHash: hash, height: height, epoch: Epoch(epoch))
    }

    /// The account as the most advanced validator sees it: every endpoint is asked at once and the
    /// answer with the highest nonce wins, so that a validator that lags behind (just restarted)
    /// cannot hand out a nonce that is already used. Endpoints known to be unreachable are left
    /// out, and once one validator has answered the others get `accountGraceSeconds`: a validator
    /// that is down or cut off does not hold every transaction up for a connect timeout.
    public func account(_ address: Address) async throws(ChainClientError) -> Account {
        let asked = reachableEndpoints
        let answers = await withTaskGroup(of: Account??.self) { group in
            for endpoint in asked {
                group.addTask {
                    guard let o = try? await self.json("/v1/accounts/\(address)", only: endpoint),
                        let balance = (o["balance"] as? NSNumber)?.uint64Value, let nonce = (o["nonce"] as? NSNumber)?.uint64Value
                    else { return .some(nil) }
                    return .some(Account(balance: FROST(balance), nonce: nonce))
                }
            }
            var answers: [Account] = []
            var pending = asked.count
            var graceStarted = false
            // `.none` is the grace timer; `.some(nil)` an endpoint without an answer.
            while pending > 0, let event = await group.next() {
                guard let result = event else { break }
                pending -= 1
                if let answer = result { answers.append(answer) }
                if !answers.isEmpty, !graceStarted, pending > 0 {
                    graceStarted = true
                    group.addTask {
                        try? await Task.sleep(nanoseconds: UInt64(Self.accountGraceSeconds * 1e9))
                        return .none
                    }
                }
            }
            group.cancelAll()
            return answers
        }
        guard let latest = answers.max(by: { $0.nonce < $1.nonce }) else {
            throw ChainClientError(.unavailable, "no validator answered for account \(address); check that the chain is running and the RPC URLs in the config")
        }
        return latest
    }

    /// How long the other validators may take to answer an account query once one has.
    static let accountGraceSeconds = 1.0

    public func block(_ height: UInt64) async throws(ChainClientError) -> Block { try await bcs(Block.self, "/v1/blocks/\(height)?format=bcs") }
    public func commit(_ height: UInt64) async throws(ChainClientError) -> Commit { try await bcs(Commit.self, "/v1/commits/\(height)") }

    // MARK: - Transactions

    /// Submits a signed transaction; returns its digest. A validator that refuses it may only lag
    /// behind (just restarted, it still sees an older nonce or lacks an object), so the others are
    /// asked in turn; when every one that answers refuses, the refusal most of them give is thrown.
    @discardableResult
    public func submit(_ tx: SignedTransaction) async throws(ChainClientError) -> [UInt8] {
        var refusals: [String] = []
        var codes: [String: String] = [:]
        var unreachable: ChainClientError?
        for endpoint in orderedEndpoints {
            let response: Response
            do { response = try await send("/v1/transactions", method: "POST", body: tx.bcsBytes, only: endpoint) } catch {
                unreachable = error
                continue
            }
            if response.status == 202 { return tx.digest }
            let object = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]) ?? [:]
            let error = object["error"] as? [String: Any]
            let refusal = "\(error?["code"] as? String ?? "\(response.status)"): \(error?["message"] as? String ?? "refused")"
            refusals.append(refusal)
            codes[refusal] = error?["code"] as? String
        }
        guard !refusals.isEmpty else { throw unreachable ?? ChainClientError(.unavailable, "no validator is configured") }
        let counts = Dictionary(refusals.map { ($0, 1) }, uniquingKeysWith: +)
        let agreed = refusals.first { counts[$0] == counts.values.max() }!
        throw ChainClientError(.rejected, agreed, ledgerCode: codes[agreed].map(LedgerError.Code.init))
    }

    /// The outcome of a committed transaction: its block and the events it emitted.
    public struct Outcome: Sendable {
        public let height: UInt64
        public let events: [LedgerEvent]
    }

    /// Submits and waits (bounded) for the transaction to be committed; throws `failed` when it
    /// executed without success. The status is asked of each validator in turn, so one that lags
    /// (just restarted, still catching up) does not hide a commit the others made; and every
    /// `resubmitSeconds` without a commit the same signed transaction goes to the next validator,
    /// in case the first one holds it in a mempool it cannot gossip yet.
    public func submitAndWait(_ tx: SignedTransaction, timeoutSeconds: Double = 30) async throws(ChainClientError) -> Outcome {
        let digest = try await submit(tx)
        let path = "/v1/transactions/\(Hex.encode(digest))"
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var nextResubmit = Date().addingTimeInterval(Self.resubmitSeconds)
        var poll = 0
        var resubmitted = 0
        while Date() < deadline {
            // The validator holds the request until the commit (or `statusWaitMs`); one that does
            // not (or fails at once) is asked again after a pause.
            let asked = Date()
            let candidates = reachableEndpoints
            if let o = try? await json(path + "?wait_ms=\(Self.statusWaitMs)", only: candidates[poll % candidates.count]) {
                guard o["status"] as? String == "success" else {
                    let error = o["error"] as? [String: Any]
                    let code = error?["code"] as? String
                    throw ChainClientError(.failed, "\(code ?? "FAILED"): \(error?["message"] as? String ?? "")", ledgerCode: code.map(LedgerError.Code.init))
                }
                let events = (o["events"] as? [[String: Any]] ?? []).compactMap { entry -> LedgerEvent? in
                    (entry["bcs"] as? String).flatMap { Data(base64Encoded: $0) }.flatMap { try? LedgerEvent.decode(bcs: Array($0)) }
                }
                return Outcome(height: (o["height"] as? NSNumber)?.uint64Value ?? 0, events: events)
            }
            poll += 1
            if Date() >= nextResubmit, try await isDead(tx, path: path) {
                throw ChainClientError(
                    .rejected, "BAD_NONCE: nonce \(tx.transaction.nonce) of \(tx.transaction.senderAddress) was used by another transaction; build it again",
                    ledgerCode: .badNonce)
            }
            if Date() >= nextResubmit, endpoints.count > 1 {
                // A refusal here (already known, or its nonce already used by its own commit) is fine.
                resubmitted += 1
                let targets = reachableEndpoints
                _ = try? await send("/v1/transactions", method: "POST", body: tx.bcsBytes, only: targets[resubmitted % targets.count])
                nextResubmit = Date().addingTimeInterval(Self.resubmitSeconds)
            }
            let waited = Date().timeIntervalSince(asked)
            if waited < 0.05 { try? await Task.sleep(nanoseconds: UInt64((0.05 - waited) * 1e9)) }
        }
        throw ChainClientError(.unavailable, "transaction \(Hex.encode(digest)) was not committed within \(Int(timeoutSeconds)) s")
    }

    /// Whether `tx` can never be committed: no validator knows it as committed, and the sender's
    /// nonce has moved past it (a validator that lagged admitted it with a stale nonce).
    private func isDead(_ tx: SignedTransaction, path: String) async throws(ChainClientError) -> Bool {
        guard let account = try? await account(tx.transaction.senderAddress), account.nonce > tx.transaction.nonce else { return false }
        // The account's nonce came from a validator that answers; one that committed the
        // transaction knows it, so validators that cannot be reached need not be asked.
        for endpoint in endpoints where !isUnreachable(endpoint) {
            if (try? await json(path, only: endpoint)) != nil { return false }
        }
        return true
    }

    /// How long a submitted transaction may go uncommitted before it is sent to another validator.
    static let resubmitSeconds = 2.0
    /// How long one status request may wait for the commit: short enough that a lagging validator
    /// costs little before the next one is asked.
    static let statusWaitMs = 250

    // MARK: - Events

    /// Events after `cursor`, waiting up to `waitMs` for new ones.
    public func events(after cursor: EventCursor?, limit: Int = 100, waitMs: UInt64 = 0) async throws(ChainClientError) -> (events: [ChainEvent], next: EventCursor?) {
        let after = cursor.map { "\($0.height):\($0.index)" } ?? ""
        let o = try await json("/v1/events?after=\(after)&limit=\(limit)&timeout_ms=\(waitMs)", timeout: timeoutSeconds + Double(waitMs) / 1000)
        var events: [ChainEvent] = []
        for entry in o["events"] as? [[String: Any]] ?? [] {
            guard let height = (entry["height"] as? NSNumber)?.uint64Value, let index = (entry["index"] as? NSNumber)?.uint32Value,
                let bcs = (entry["bcs"] as? String).flatMap({ Data(base64Encoded: $0) }), let event = try? LedgerEvent.decode(bcs: Array(bcs))
            else { throw ChainClientError(.malformed, "an event in the answer does not decode") }
            let id = (entry["eventId"] as? [String: Any]).flatMap { o -> EventID? in
                guard let digest = (o["txDigest"] as? String).flatMap({ Base58.decode($0) }), digest.count == 32,
                    let seq = (o["eventSeq"] as? String).flatMap(UInt64.init)
                else { return nil }
                return EventID(transactionDigest: digest, sequence: seq)
            }
            events.append(ChainEvent(cursor: EventCursor(height: height, index: index), event: event, bytes: Array(bcs), id: id))
        }
        return (events, events.last?.cursor ?? cursor)
    }
}

/// Where an event stands in the chain: block height and index within the block.
public struct EventCursor: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let height: UInt64
    public let index: UInt32
    public init(height: UInt64, index: UInt32) {
        self.height = height
        self.index = index
    }
    public static func < (a: Self, b: Self) -> Bool { (a.height, a.index) < (b.height, b.index) }
    public var description: String { "\(height):\(index)" }
}

/// A ledger event with its position and BCS bytes, and its Walrus-style ID (the emitting
/// transaction's digest and the event's place among its events) when the RPC gave one. The
/// event's bytes are verified against its block; the ID is as the RPC served it.
public struct ChainEvent: Hashable, Sendable {
    public let cursor: EventCursor
    public let event: LedgerEvent
    public let bytes: [UInt8]
    public let id: EventID?

    public init(cursor: EventCursor, event: LedgerEvent, bytes: [UInt8], id: EventID? = nil) {
        self.cursor = cursor
        self.event = event
        self.bytes = bytes
        self.id = id
    }
}
