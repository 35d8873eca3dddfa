import Testing
import WalrusCore
import WalrusCrypto

@Suite struct HashTests {
    /// Published BLAKE2b-256 digests (digest length 32 in the parameter block).
    @Test(arguments: [
        ("", "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"),
        ("abc", "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"),
        ("The quick brown fox jumps over the lazy dog", "01718cec35cd3d796dd00020e0bfecb473ad23457d063b75eff29c0ffa2e58a9"),
    ])
    func blake2b256Vectors(input: String, digest: String) {
        #expect(Hex.encode(Blake2b256.hash(Array(input.utf8))) == digest)
    }

    /// RFC 7693 Appendix A: BLAKE2b-512 of "abc".
    @Test func rfc7693AppendixA() {
        #expect(Hex.encode(Blake2b.hash(Array("abc".utf8), digestBytes: 64)) ==
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
    }

    /// RFC 7693 Appendix E: the self-test "grand hash" over digest lengths 20, 32, 48, 64, input
    /// lengths 0, 3, 128, 129, 255, 1024, unkeyed and keyed.
    @Test func rfc7693SelfTest() {
        func sequence(_ count: Int, seed: UInt32) -> [UInt8] {
            var a = 0xDEAD_4BAD &* seed
            var b: UInt32 = 1
            return (0..<count).map { _ in
                let t = a &+ b
                a = b
                b = t
                return UInt8(truncatingIfNeeded: t >> 24)
            }
        }
        var grand = Blake2b256()
        for outLength in [20, 32, 48, 64] {
            for inLength in [0, 3, 128, 129, 255, 1024] {
                let input = sequence(inLength, seed: UInt32(inLength))
                grand.update(Blake2b.hash(input, digestBytes: outLength))
                let key = sequence(outLength, seed: UInt32(outLength))
                grand.update(Blake2b.hash(input, digestBytes: outLength, key: key))
            }
        }
        #expect(Hex.encode(grand.finalize()) == "c23a7800d98123bd10f506c61e29da5603d763b8bbad2e737f5e765a7bccd475")
    }

    /// BLAKE2b-256 is not BLAKE2b-512 truncated: the digest length is in the parameter block.
    @Test func blake2b256IsNotTruncatedBlake2b512() {
        let input = Array("abc".utf8)
        #expect(Blake2b256.hash(input) != Array(Blake2b.hash(input, digestBytes: 64).prefix(32)))
    }

    @Test func incrementalHashingMatchesOneShotAtEverySplit() {
        var rng = SeededGenerator(seed: 7)
        let data = rng.bytes(700)
        let expected = Blake2b256.hash(data)
        for split in [0, 1, 63, 127, 128, 129, 255, 256, 257, 699, 700] {
            var hasher = Blake2b256()
            hasher.update(data[0..<split])
            hasher.update(data[split...])
            #expect(hasher.finalize() == expected, "split at \(split)")
        }
        var byteByByte = Blake2b256()
        for byte in data { byteByByte.update([byte]) }
        #expect(byteByByte.finalize() == expected)
    }

    @Test func sha256Vectors() {
        #expect(Hex.encode(SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let twoBlocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(Hex.encode(SHA256.hash(Array(twoBlocks.utf8))) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Hex.encode(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000))) ==
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
