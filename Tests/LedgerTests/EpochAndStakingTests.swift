import ChainTypes
import Ledger
import Testing
import WalrusCore
import WalrusCrypto

@Suite struct EpochTests {
    @Test func aFullEpochChange() throws {
        let h = try Harness()
        // Some storage paid into epoch 1, so there are rewards to distribute.
        #expect(try h.run(h.alice, [.reserveSpace(size: 10 * 1_048_576, epochs: 1)]).succeeded)
        let rewards = try h.system().accounting[Epoch(1)]!.rewards
        let operatorsBefore = try h.operatorKeys.map { try h.balance($0) }

        // Midpoint: the next committee is selected.
        let midpoint = try h.block([], afterMs: Harness.epochMs / 2)
        #expect(midpoint.events == [.epochParametersSelected(nextEpoch: Epoch(2))])
        #expect(try h.system().nextCommittee?.epoch == Epoch(2))

        // End: epoch 2 starts, with rewards paid and 3 % burned.
        let end = try h.block([], afterMs: Harness.epochMs / 2)
        #expect(end.events.contains(.epochChangeStart(epoch: Epoch(2))))
        #expect(end.events.contains { if case .pricesUpdated(Epoch(2), _, _) = $0 { true } else { false } })
        let system = try h.system()
        #expect(system.epoch == Epoch(2))
        #expect(system.burned == FROST(rewards.rawValue * 3 / 100))
        let paidToOperators = try zip(h.operatorKeys, operatorsBefore).reduce(UInt64(0)) { $0 + (try h.balance($1.0).rawValue - $1.1.rawValue) }
        let stakes = try h.operatorKeys.flatMap { try h.ledger.stakes(ownedBy: $0.publicKey.address) }
        let paidToStake = stakes.reduce(UInt64(0)) { $0 + $1.amount.rawValue } - 400 * FROST.perWAL
        #expect(paidToOperators + paidToStake + system.rewardDust.rawValue + system.burned.rawValue == rewards.rawValue)
        #expect(try h.ledger.committee(Epoch(2)) == system.committee)

        // Nodes report their shards synced; at a quorum of weight the change is done.
        guard case .changeSync = system.epochState else { Issue.record("not syncing: \(system.epochState)"); return }
        var done = false
        for (member, _) in try h.members() {
            let pool = try h.ledger.pool(member.nodeID)!
            let operatorKey = h.operatorKeys.first { $0.publicKey.address == pool.operatorAddress }!
            let execution = try h.block([h.tx(operatorKey, [.epochSyncDone(node: member.nodeID, epoch: Epoch(2))])])
            #expect(execution.results[0].succeeded)
            #expect(execution.events.first == .shardsReceived(epoch: Epoch(2), shards: member.shards))
            if execution.events.contains(.epochChangeDone(epoch: Epoch(2))) {
                done = true
                break
            }
        }
        #expect(done)
        guard case .changeDone = try h.system().epochState else { Issue.record("epoch change not done"); return }
        // A report for the wrong epoch or from a non-operator fails.
        let member = try h.members()[0].member
        #expect(try h.run(h.alice, [.epochSyncDone(node: member.nodeID, epoch: Epoch(2))]).failureCode == "NOT_OWNER")
    }

    @Test func stakeCountsFromTheRightEpochAndWithdrawsAfterwards() throws {
        let h = try Harness()
        let node = try h.system().committee.members[0].nodeID
        // Before the midpoint of epoch 1: counts from epoch 2.
        #expect(try h.run(h.alice, [.stake(node: node, amount: FROST(500 * FROST.perWAL))]).succeeded)
        let early = try h.ledger.stakes(ownedBy: h.alice.publicKey.address)[0]
        #expect(early.activationEpoch == Epoch(2))
        try h.block([], afterMs: Harness.epochMs / 2)
        // After the midpoint: counts from epoch 3.
        #expect(try h.run(h.alice, [.stake(node: node, amount: FROST(1 * FROST.perWAL))]).succeeded)
        #expect(try h.ledger.stakes(ownedBy: h.alice.publicKey.address).map(\.activationEpoch).sorted() == [Epoch(2), Epoch(3)])
        // The big early stake moved shards to this node in the committee of epoch 2.
        let next = try h.system().nextCommittee!
        #expect(next.member(node)!.weight > 3)
        // Withdrawal: requested now (after the midpoint), possible from epoch 3.
        #expect(try h.run(h.alice, [.requestWithdrawal(stake: early.id)]).succeeded)
        #expect(try h.run(h.alice, [.withdraw(stake: early.id)]).failureCode == "E_WITHDRAW_NOT_READY")
        #expect(try h.run(h.bob, [.withdraw(stake: early.id)]).failureCode == "NOT_OWNER")
        #expect(try h.run(h.alice, [.stake(node: NodeID(unchecked: [UInt8](repeating: 1, count: 32)), amount: FROST(1))]).failureCode == "NOT_FOUND")
    }

    static func register(_ h: Harness, _ operatorKey: Schnorr.PrivateKey, nodeKey: Schnorr.PrivateKey, name: String = "new", address: String = "127.0.0.1:9100",
                         commission: UInt16 = 500, proofBy signer: Schnorr.PrivateKey? = nil, chainID: String? = nil) -> Operation {
        let proof = (signer ?? nodeKey).sign(NodeRegistration.signBytes(chainID: chainID ?? h.chainID, publicKey: nodeKey.publicKey, operator: operatorKey.publicKey.address))
        return .registerNode(name: name, networkAddress: address, publicKey: nodeKey.publicKey, commissionBasisPoints: commission,
                             storagePrice: FROST(1), writePrice: FROST(1), capacity: 1 << 30, proof: proof)
    }

    @Test func registeringANodeCreatesAPool() throws {
        let h = try Harness()
        let key = Schnorr.PrivateKey.generate()
        #expect(try h.run(h.alice, [Self.register(h, h.alice, nodeKey: key)]).succeeded)
        #expect(try h.ledger.pools().contains { $0.publicKey == key.publicKey && $0.operatorAddress == h.alice.publicKey.address })
        let other = Schnorr.PrivateKey.generate()
        #expect(try h.run(h.alice, [Self.register(h, h.alice, nodeKey: other, name: "")]).failureCode == "INVALID_ARGUMENT")
        #expect(try h.run(h.alice, [Self.register(h, h.alice, nodeKey: other, commission: 10_001)]).failureCode == "INVALID_ARGUMENT")
        // A network address is host:port and nothing more: no path for peers to be steered to.
        #expect(try h.run(h.alice, [Self.register(h, h.alice, nodeKey: other, address: "127.0.0.1:9100/v1/x")]).failureCode == "INVALID_ARGUMENT")
        // The key must consent: a proof by another key, for another operator or another chain fails.
        #expect(try h.run(h.alice, [Self.register(h, h.alice, nodeKey: other, proofBy: h.bob)]).failureCode == "BAD_SIGNATURE")
        #expect(try h.run(h.bob, [Self.register(h, h.alice, nodeKey: other)]).failureCode == "BAD_SIGNATURE")
        #expect(try h.run(h.alice, [Self.register(h, h.alice, nodeKey: other, chainID: "other-chain")]).failureCode == "BAD_SIGNATURE")
        // No two nodes share a key, not even for the same operator; the genesis nodes' keys are taken too.
        #expect(try h.run(h.alice, [Self.register(h, h.alice, nodeKey: key, name: "again")]).failureCode == "DUPLICATE")
        #expect(try h.ledger.pools().filter { $0.publicKey == key.publicKey }.count == 1)
    }

    @Test func theOperatorUpdatesItsNodesVotesAndAddress() throws {
        let h = try Harness()
        let key = Schnorr.PrivateKey.generate()
        #expect(try h.run(h.alice, [Self.register(h, h.alice, nodeKey: key)]).succeeded)
        let node = try #require(try h.ledger.pools().first { $0.publicKey == key.publicKey }).nodeID
        let update = NodeUpdate(networkAddress: "10.0.0.7:9185", storagePrice: FROST(7), capacity: 1 << 42)
        #expect(try h.run(h.alice, [.updateNode(node: node, update: update)]).succeeded)
        let pool = try #require(try h.ledger.pools().first { $0.nodeID == node })
        #expect(pool.networkAddress == "10.0.0.7:9185" && pool.storagePriceVote == FROST(7) && pool.capacityVote == 1 << 42)
        #expect(pool.writePriceVote == FROST(1) && pool.commissionBasisPoints == 500)
        // Only the operator; a real change; valid values; an existing node.
        #expect(try h.run(h.bob, [.updateNode(node: node, update: NodeUpdate(storagePrice: FROST(1)))]).failureCode == "NOT_OWNER")
        #expect(try h.run(h.alice, [.updateNode(node: node, update: NodeUpdate())]).failureCode == "INVALID_ARGUMENT")
        #expect(try h.run(h.alice, [.updateNode(node: node, update: NodeUpdate(commissionBasisPoints: 10_001))]).failureCode == "INVALID_ARGUMENT")
        #expect(try h.run(h.alice, [.updateNode(node: node, update: NodeUpdate(networkAddress: "nowhere"))]).failureCode == "INVALID_ARGUMENT")
        #expect(try h.run(h.alice, [.updateNode(node: NodeID(unchecked: [UInt8](repeating: 9, count: 32)), update: NodeUpdate(capacity: 1))]).failureCode == "NOT_FOUND")
        // A failed update changed nothing.
        #expect(try h.ledger.pools().first { $0.nodeID == node } == pool)
        // The update round-trips through BCS, each field present or absent.
        for u in [NodeUpdate(), update, NodeUpdate(commissionBasisPoints: 3, writePrice: FROST(2))] {
            #expect(try NodeUpdate.decode(bcs: u.bcsBytes) == u)
        }
    }
}

@Suite struct ApportionmentTests {
    func node(_ i: UInt8) -> NodeID { NodeID(unchecked: [UInt8](repeating: i, count: 32)) }

    @Test func dHondtOnWorkedExamples() {
        // Equal stakes, 10 shards over 4 nodes: two each by the lower bound, then the two earliest.
        let equal = Apportionment.dHondt(stakes: (1...4).map { (node($0), 100) }, shards: 10)
        #expect(equal.map(\.shards) == [3, 3, 2, 2])
        // Stakes 5:3:2 over 10 shards with three nodes: cap ceil(20/3) = 7; D'Hondt gives 5, 3, 2.
        let proportional = Apportionment.dHondt(stakes: [(node(1), 500), (node(2), 300), (node(3), 200)], shards: 10)
        #expect(proportional.map(\.shards) == [5, 3, 2])
        // A dominant node is capped: 1000 shards, 3 nodes, cap ceil(2000/3) = 667.
        let capped = Apportionment.dHondt(stakes: [(node(1), 9000), (node(2), 500), (node(3), 500)], shards: 1000)
        #expect(capped.map(\.shards) == [667, 167, 166])
        // Twenty nodes: cap n/10. Zero stake gets nothing.
        let twenty = Apportionment.dHondt(stakes: (1...20).map { (node($0), $0 == 1 ? 1_000_000 : 10) } + [(node(30), 0)], shards: 100)
        #expect(twenty.first!.shards == 10 && twenty.count == 20 && twenty.reduce(0) { $0 + $1.shards } == 100)
        #expect(Apportionment.cap(shards: 7, nodes: 20) == 1)
    }

    @Test func transitionMovesAsFewShardsAsPossible() {
        let first = Apportionment.transition(from: nil, counts: [(node(2), 3), (node(1), 4), (node(3), 3)], epoch: Epoch(1))
        #expect(first.members.map(\.nodeID) == [node(1), node(2), node(3)])
        #expect(first.members.map { $0.shards.map(\.rawValue) } == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]])
        // Node 1 shrinks to 2 (gives up 2, 3), node 3 leaves (7, 8, 9), node 2 keeps, node 4 joins with 5.
        let next = Apportionment.transition(from: first, counts: [(node(1), 2), (node(2), 3), (node(4), 5)], epoch: Epoch(2))
        #expect(next.member(node(1))!.shards.map(\.rawValue) == [0, 1])
        #expect(next.member(node(2))!.shards.map(\.rawValue) == [4, 5, 6])
        #expect(next.member(node(4))!.shards.map(\.rawValue) == [2, 3, 7, 8, 9])
        #expect(next.shardCount == 10)
        let moved = next.members.reduce(0) { total, member in
            total + member.shards.filter { shard in first.member(member.nodeID)?.shards.contains(shard) != true }.count
        }
        #expect(moved == 5)
    }

    @Test func votesPickTheQuorumPercentiles() {
        let votes: [(value: UInt64, weight: UInt64)] = [(10, 3), (20, 3), (30, 2), (40, 2)]
        // Quorum of 10 is 7: ascending, 10+20 reach 6, with 30 they reach 8 → 30.
        #expect(Apportionment.quorumBelow(votes, totalWeight: 10) == 30)
        // Descending, 40+30 reach 4, with 20 they reach 7 → 20.
        #expect(Apportionment.quorumAbove(votes, totalWeight: 10) == 20)
    }
}
