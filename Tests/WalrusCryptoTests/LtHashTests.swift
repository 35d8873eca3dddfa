import Testing
import WalrusCrypto

@Suite struct LtHashTests {
    let items: [[UInt8]] = (0..<20).map { i in Array("key-\(i)=value-\(i * 7)".utf8) }

    @Test func theOrderOfAdditionsDoesNotMatter() {
        var forward = LtHash(), backward = LtHash()
        for item in items { forward.add(item) }
        for item in items.reversed() { backward.add(item) }
        #expect(forward == backward && forward.digest == backward.digest)
        #expect(forward != LtHash())
    }

    @Test func removingUndoesAdding() {
        var hash = LtHash()
        for item in items { hash.add(item) }
        let full = hash
        hash.add(Array("extra".utf8))
        #expect(hash != full)
        hash.remove(Array("extra".utf8))
        #expect(hash == full)
        for item in items { hash.remove(item) }
        #expect(hash == LtHash())
    }

    @Test func elementsAreNotInterchangeable() {
        var a = LtHash(), b = LtHash()
        a.add(Array("k=1".utf8))
        b.add(Array("k=2".utf8))
        #expect(a.digest != b.digest)
        // A multiset: one element twice is not the element once.
        var twice = a
        twice.add(Array("k=1".utf8))
        #expect(twice != a)
    }

    @Test func theBytesRoundTrip() {
        var hash = LtHash()
        for item in items { hash.add(item) }
        #expect(hash.bytes.count == 2048)
        #expect(LtHash(bytes: hash.bytes) == hash)
        #expect(LtHash(bytes: [1, 2, 3]) == nil)
    }
}
