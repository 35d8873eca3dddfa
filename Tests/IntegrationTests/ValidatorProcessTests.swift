import ChainTypes
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import Testing
import WalrusCore
import WalrusCrypto

/// Four validator processes on 127.0.0.1: they commit, keep a transfer, survive one killed, let it
/// catch up after a restart, re-sync one whose data was wiped, and keep their state when all four
/// are stopped and restarted.
@Suite(.serialized) struct ValidatorProcessTests {
    @Test(.timeLimit(.minutes(3))) func fourValidatorsSurviveFailures() async throws {
        let chain = try LocalChain(validators: 4)
        try chain.startAll()
        try await chain.waitUntil("all four at height 3") {
            for i in 0..<4 where (await chain.height(i) ?? 0) < 3 { return false }
            return true
        }

        // A transfer, submitted to validator 0, lands on every validator.
        let wallet = try chain.walletKey()
        let recipient = Schnorr.PrivateKey.generate().publicKey.address
        let tx = SignedTransaction(
            Transaction(chainID: "walrus-test", sender: wallet.publicKey, nonce: 0, operations: [.transfer(to: recipient, amount: FROST(12345))]),
            signedBy: wallet)
        let (status, body) = try await chain.submit(0, tx)
        #expect(status == 202, "\(body)")
        let digest = Hex.encode(tx.digest)
        try await chain.waitUntil("the transfer to commit") { (await chain.get(0, "v1/transactions/\(digest)"))?["status"] as? String == "success" }
        for i in 0..<4 {
            try await chain.waitUntil("validator \(i) to see the balance") {
                (await chain.get(i, "v1/accounts/\(recipient)"))?["balance"] as? UInt64 == 12345
            }
        }
        // The same transaction again is refused (its nonce is spent).
        let (replayStatus, replay) = try await chain.submit(1, tx)
        #expect(replayStatus == 400 && (replay["error"] as? [String: Any])?["code"] as? String == "BAD_NONCE")

        // One validator killed: the other three keep committing.
        chain.kill9(3)
        let atKill = await chain.height(0) ?? 0
        try await chain.waitUntil("progress without validator 3") { (await chain.height(0) ?? 0) >= atKill + 3 }

        // Restarted, it catches up.
        try chain.start(3)
        try await chain.waitUntil("validator 3 to catch up") {
            let leader = await chain.height(0) ?? 0
            return (await chain.height(3) ?? 0) + 1 >= leader && leader > atKill + 3
        }

        // Wiped and restarted, validator 2 re-syncs from its peers, transfer included.
        chain.kill9(2)
        try chain.wipe(2)
        try chain.start(2)
        try await chain.waitUntil("validator 2 to re-sync") {
            let leader = await chain.height(0) ?? 0
            return (await chain.height(2) ?? 0) + 1 >= leader
        }
        #expect((await chain.get(2, "v1/accounts/\(recipient)"))?["balance"] as? UInt64 == 12345)

        // All four stopped and restarted: state and height are kept, and blocks continue.
        for i in 0..<4 { chain.stop(i) }
        let before = await chain.height(0)
        #expect(before == nil)
        try chain.startAll()
        var restartedAt: UInt64 = 0
        try await chain.waitUntil("the restarted network to answer") {
            restartedAt = await chain.height(1) ?? 0
            return restartedAt > atKill
        }
        try await chain.waitUntil("blocks after the restart") { (await chain.height(1) ?? 0) >= restartedAt + 2 }
        for i in 0..<4 {
            #expect((await chain.get(i, "v1/accounts/\(recipient)"))?["balance"] as? UInt64 == 12345)
        }
        for i in 0..<4 { chain.stop(i) }
    }

    /// Validator 3 keeps its data on a tmpfs that fills up: it stops committing and says why in its
    /// log, but keeps answering (RocksDB's own log used to abort the process here), the other
    /// three go on; with space again it stops cleanly, and restarted it catches up, blocks and
    /// transfers of the meantime included. Mounting needs root; elsewhere the test is skipped.
    @Test(.timeLimit(.minutes(3)), .enabled(if: TinyFilesystem.available, "mounting a tmpfs needs root"))
    func aValidatorWithAFullDiskStopsAndCatchesUpWithSpace() async throws {
        let chain = try LocalChain(validators: 4)
        let data = chain.directory.appendingPathComponent("validator-3/data")
        let disk = try TinyFilesystem(at: data.path, bytes: 8 << 20)
        defer { disk.unmount() }
        try chain.startAll()
        try await chain.waitUntil("all four at height 3") {
            for i in 0..<4 where (await chain.height(i) ?? 0) < 3 { return false }
            return true
        }
        // Nothing left on validator 3's disk.
        let filler = data.appendingPathComponent("filler").path
        let fd = open(filler, O_WRONLY | O_CREAT, 0o644)
        let chunk = [UInt8](repeating: 7, count: 1 << 20)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        #expect(errno == ENOSPC)
        while write(fd, chunk, 1) > 0 {}
        close(fd)

        // It stops; the others go on, with a transfer.
        var stuck: UInt64 = 0
        try await chain.waitUntil("validator 3 to stop committing", timeoutSeconds: 60) {
            let before = await chain.height(3) ?? 0
            try? await Task.sleep(nanoseconds: 1_500_000_000)
            stuck = await chain.height(3) ?? 0
            let leader = await chain.height(0) ?? 0
            return stuck == before && leader > stuck + 2
        }
        let wallet = try chain.walletKey()
        let recipient = Schnorr.PrivateKey.generate().publicKey.address
        let tx = SignedTransaction(
            Transaction(chainID: "walrus-test", sender: wallet.publicKey, nonce: 0, operations: [.transfer(to: recipient, amount: FROST(777))]),
            signedBy: wallet)
        #expect(try await chain.submit(0, tx).0 == 202)
        try await chain.waitUntil("the transfer on validator 0") { (await chain.get(0, "v1/accounts/\(recipient)"))?["balance"] as? UInt64 == 777 }
        let stillAt = await chain.height(3)
        #expect(stillAt != nil, "validator 3 still answers: it stopped, it did not crash")
        #expect(stillAt == stuck, "validator 3 stays where its disk filled up")
        let log = (try? String(contentsOf: chain.directory.appendingPathComponent("validator-3.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("the disk is full"), "validator 3 says why: \(log.suffix(800))")

        // Space again and a restart: it catches up.
        try FileManager.default.removeItem(atPath: filler)
        chain.stop(3)
        let stopped = (try? String(contentsOf: chain.directory.appendingPathComponent("validator-3.log"), encoding: .utf8)) ?? ""
        #expect(!stopped.contains("Assertion"), "a clean stop: \(stopped.suffix(800))")
        try chain.start(3)
        try await chain.waitUntil("validator 3 to catch up", timeoutSeconds: 60) {
            let leader = await chain.height(0) ?? 0
            return (await chain.height(3) ?? 0) + 1 >= leader && leader > stuck
        }
        try await chain.waitUntil("the transfer on validator 3") { (await chain.get(3, "v1/accounts/\(recipient)"))?["balance"] as? UInt64 == 777 }
        for i in 0..<4 { chain.stop(i) }
    }

    @Test(.timeLimit(.minutes(1))) func rpcRefusesBadInput() async throws {
        let chain = try LocalChain(validators: 1)
        try chain.start(0)
        try await chain.waitUntil("height 1") { (await chain.height(0) ?? 0) >= 1 }
        var request = URLRequest(url: chain.rpc(0).appendingPathComponent("v1/transactions"))
        request.httpMethod = "POST"
        request.httpBody = Data([1, 2, 3])
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 400)
        #expect(String(decoding: data, as: UTF8.self).contains("MALFORMED"))
        // A body beyond the limit is refused with 413.
        request.httpBody = Data(count: 2 * 1024 * 1024)
        let (_, big) = try await URLSession.shared.data(for: request)
        #expect((big as? HTTPURLResponse)?.statusCode == 413)
        // A forged signature.
        let wallet = try chain.walletKey()
        let tx = Transaction(chainID: "walrus-test", sender: wallet.publicKey, nonce: 0, operations: [.transfer(to: wallet.publicKey.address, amount: FROST(1))])
        let forged = SignedTransaction(transaction: tx, signature: Schnorr.PrivateKey.generate().sign(tx.intentMessage))
        let (status, body) = try await chain.submit(0, forged)
        #expect(status == 400 && (body["error"] as? [String: Any])?["code"] as? String == "BAD_SIGNATURE")
        #expect((await chain.get(0, "v1/accounts/not-an-address"))?["error"] != nil)
        #expect((await chain.get(0, "v1/nothing/here"))?["error"] != nil)
        chain.stop(0)
    }

    /// A transaction whose operation carries `signatures` certificate signatures: about 64 bytes
    /// each, so its size is chosen (the certificate names no real blob; it fails when executed).
    static func heavy(_ key: Schnorr.PrivateKey, nonce: UInt64, signatures: Int) throws -> SignedTransaction {
        let signature = try Schnorr.Signature(bytes: [UInt8](repeating: 7, count: 64))
        let certificate = CommitteeCertificate(signersBitmap: [0xFF], serializedMessage: [1, 2, 3], signatures: Array(repeating: signature, count: signatures))
        let object = ObjectID(unchecked: [UInt8](repeating: 9, count: 32))
        return SignedTransaction(
            Transaction(chainID: "walrus-test", sender: key.publicKey, nonce: nonce, operations: [.certifyBlob(blob: object, certificate: certificate)]),
            signedBy: key)
    }

    /// The attacks of issue 16 that halted or crashed the chain, against four validator processes:
    /// a transaction just over the size limit sent to every validator, 36 MB of transactions just
    /// under it (more than one peer frame), reservations whose size overflows from a funded and
    /// an unfunded key. No validator crashes, the chain keeps committing, and an honest transfer
    /// sent after them commits.
    /// Validator 3 runs the Byzantine test binary, which signs a conflicting prevote next to each
    /// of its prevotes. The others notice, gossip the evidence, commit it in a block and the
    /// ledger slashes validator 3 (half its 10,000 WAL bond burned, jailed); the chain keeps
    /// committing and honest transactions still commit.
    @Test(.timeLimit(.minutes(3))) func anEquivocatingValidatorIsSlashed() async throws {
        // Epochs of 20 s: the equivocator is slashed well before the first epoch change, which
        // then leaves it out of the set.
        let chain = try LocalChain(validators: 4, epochDurationMs: 20_000)
        for i in 0..<3 { try chain.start(i) }
        try chain.start(3, byzantine: true)
        let byzantineKey = Hex.encode(try chain.validatorKey(3).publicKey.bytes)
        func records(_ i: Int = 0) async -> [[String: Any]] { (await chain.get(i, "v1/validators"))?["validators"] as? [[String: Any]] ?? [] }
        func byzantine(_ i: Int = 0) async -> [String: Any]? { (await records(i)).first { $0["publicKey"] as? String == byzantineKey } }
        try await chain.waitUntil("validator 3 to be slashed", timeoutSeconds: 60) { await byzantine()?["jailed"] as? Bool == true }
        let slashed = try #require(await byzantine())
        #expect(slashed["bondFrost"] as? UInt64 == 5_000 * FROST.perWAL)
        #expect(slashed["slashedFrost"] as? UInt64 == 5_000 * FROST.perWAL)
        for honest in (await records()).filter({ $0["publicKey"] as? String != byzantineKey }) {
            #expect(honest["jailed"] as? Bool == false && honest["bondFrost"] as? UInt64 == 10_000 * FROST.perWAL)
        }
        // The slashing is an event of the chain, and every honest validator agrees on it.
        let events = (await chain.get(1, "v1/events"))?["events"] as? [[String: Any]] ?? []
        let slashEvents = events.filter { $0["type"] as? String == "ValidatorSlashed" }
        #expect(slashEvents.count == 1, "\(events.map { $0["type"] ?? "?" })")
        for i in 1..<3 { #expect(await byzantine(i)?["jailed"] as? Bool == true) }
        // The chain goes on, with the equivocator still running, and an honest transfer commits.
        let before = await chain.height(0) ?? 0
        let wallet = try chain.walletKey()
        let transfer = SignedTransaction(
            Transaction(chainID: "walrus-test", sender: wallet.publicKey, nonce: 0, operations: [.transfer(to: Schnorr.PrivateKey.generate().publicKey.address, amount: FROST(5))]),
            signedBy: wallet)
        #expect(try await chain.submit(1, transfer).0 == 202)
        try await chain.waitUntil("the transfer to commit") {
            let answer = await chain.get(0, "v1/transactions/\(Hex.encode(transfer.digest))")
            return answer != nil && answer?["error"] == nil
        }
        try await chain.waitUntil("five more blocks") { (await chain.height(0) ?? 0) >= before + 5 }
        // At the epoch change the jailed validator leaves the set: no index, no power; the three
        // others commit on by themselves, and the equivocator's votes no longer count.
        try await chain.waitUntil("the equivocator out of the set", timeoutSeconds: 40) {
            let entry = await byzantine()
            return entry != nil && entry?["index"] as? Int == nil && entry?["power"] as? UInt64 == 0
        }
        #expect((await records()).filter { $0["index"] as? Int != nil }.count == 3)
        let afterChange = await chain.height(0) ?? 0
        try await chain.waitUntil("five blocks under the new set") {
            for i in 0..<3 where (await chain.height(i) ?? 0) < afterChange + 5 { return false }
            return true
        }
        let latest = await chain.get(0, "v1/blocks/latest")
        #expect(latest?["validatorsHash"] as? String != nil && latest?["validatorsHash"] as? String == latest?["nextValidatorsHash"] as? String)
    }

    @Test(.timeLimit(.minutes(3))) func oversizedAndOverflowingTransactionsDoNotStopTheChain() async throws {
        let chain = try LocalChain(validators: 4)
        try chain.startAll()
        try await chain.waitUntil("all four at height 2") {
            for i in 0..<4 where (await chain.height(i) ?? 0) < 2 { return false }
            return true
        }
        let wallet = try chain.walletKey()
        var nonce: UInt64 = 0

        // Just over the limit: refused by every validator, before the consensus actor sees it.
        let over = try Self.heavy(wallet, nonce: nonce, signatures: 1024)
        #expect(over.bcsBytes.count > SignedTransaction.bytesMax)
        for i in 0..<4 {
            let (status, body) = try await chain.submit(i, over)
            #expect(status == 400 && (body["error"] as? [String: Any])?["code"] as? String == "TRANSACTION_TOO_LARGE", "validator \(i): \(body)")
        }

        // An overflowing reservation from the funded wallet: admitted, failed when executed, no
        // crash. From unfunded keys (here 300 of them) nothing is admitted: they cannot pay the fee.
        let overflowing = SignedTransaction(
            Transaction(chainID: "walrus-test", sender: wallet.publicKey, nonce: nonce, operations: [.reserveSpace(size: UInt64.max, epochs: 1)]),
            signedBy: wallet)
        #expect(try await chain.submit(0, overflowing).0 == 202)
        nonce += 1
        for i in 0..<300 {
            let stranger = Schnorr.PrivateKey.generate()
            let operation: LedgerOperation = i == 0 ? .reserveSpace(size: UInt64.max, epochs: 1) : .transfer(to: wallet.publicKey.address, amount: FROST(1))
            let tx = SignedTransaction(Transaction(chainID: "walrus-test", sender: stranger.publicKey, nonce: 0, operations: [operation]), signedBy: stranger)
            let (status, body) = try await chain.submit(i % 4, tx)
            #expect(status == 400 && (body["error"] as? [String: Any])?["code"] as? String == "INSUFFICIENT_FUNDS", "\(body)")
        }

        // 600 transactions of about 60 KB (36 MB, more than a 32 MiB peer frame) from one sender.
        let started = await chain.height(0) ?? 0
        for _ in 0..<600 {
            let tx = try Self.heavy(wallet, nonce: nonce, signatures: 930)
            #expect(tx.bcsBytes.count <= SignedTransaction.bytesMax)
            let (status, body) = try await chain.submit(0, tx)
            #expect(status == 202, "nonce \(nonce): \(body)")
            nonce += 1
        }
        // An honest transfer after them commits everywhere, and every validator is alive.
        let recipient = Schnorr.PrivateKey.generate().publicKey.address
        let transfer = SignedTransaction(
            Transaction(chainID: "walrus-test", sender: wallet.publicKey, nonce: nonce, operations: [.transfer(to: recipient, amount: FROST(777))]),
            signedBy: wallet)
        let (transferStatus, transferBody) = try await chain.submit(0, transfer)
        #expect(transferStatus == 202, "\(transferBody)")
        for i in 0..<4 {
            try await chain.waitUntil("validator \(i) to apply the transfer", timeoutSeconds: 120) {
                ((await chain.get(i, "v1/accounts/\(recipient)"))?["balance"] as? Int) == 777
            }
        }
        #expect((await chain.height(0) ?? 0) > started + 3, "the heavy transactions took several blocks")
        for i in 0..<4 { #expect(await chain.height(i) != nil, "validator \(i) stopped answering") }
        for i in 0..<4 { chain.stop(i) }
    }
}
