import Testing
import WalrusCore

@Suite struct BCSTests {
    @Test func integersAreLittleEndian() {
        var writer = BCSWriter()
        writer.write(UInt8(0x01))
        writer.write(UInt16(0x0302))
        writer.write(UInt32(0x0706_0504))
        writer.write(UInt64(0x0f0e_0d0c_0b0a_0908))
        writer.write(true)
        #expect(writer.bytes == Array(1...15) + [1])
    }

    @Test(arguments: [
        (UInt32(0), [UInt8(0x00)]),
        (UInt32(1), [UInt8(0x01)]),
        (UInt32(127), [UInt8(0x7f)]),
        (UInt32(128), [UInt8(0x80), 0x01]),
        (UInt32(300), [UInt8(0xac), 0x02]),
        (UInt32(16_384), [UInt8(0x80), 0x80, 0x01]),
        (UInt32.max, [UInt8(0xff), 0xff, 0xff, 0xff, 0x0f]),
    ] as [(UInt32, [UInt8])])
    func uleb128KnownEncodings(value: UInt32, bytes: [UInt8]) throws {
        var writer = BCSWriter()
        writer.writeULEB128(value)
        #expect(writer.bytes == bytes)
        var reader = BCSReader(bytes)
        #expect(try reader.readULEB128() == value)
        try reader.finish()
    }

    @Test(arguments: [
        ([UInt8(0x80), 0x00], "non-canonical"),
        ([UInt8(0x81), 0x80, 0x00], "non-canonical"),
        ([UInt8(0xff), 0xff, 0xff, 0xff, 0x1f], "exceeds 32 bits"),
        ([UInt8(0x80), 0x80, 0x80, 0x80, 0x80, 0x01], "longer than 5 bytes"),
        ([UInt8(0x80)], "truncated"),
    ] as [([UInt8], String)])
    func uleb128Rejections(bytes: [UInt8], reason: String) {
        var reader = BCSReader(bytes)
        #expect { _ = try reader.readULEB128() } throws: { ($0 as! CoreError).message.contains(reason) }
    }

    @Test func roundTripsOfCompositeValues() throws {
        var writer = BCSWriter()
        writer.writeBytes([1, 2, 3])
        writer.writeString("walrus ü")
        writer.writeOption(Optional<UInt32>.none)
        writer.writeOption(Optional<UInt32>.some(7))
        writer.writeSequence([UInt16(1), 2, 65535])
        writer.write(SliverAxis.secondary)
        writer.write(Epoch(9))
        writer.write(FROST(123))
        let id = BlobID(unchecked: Array(0..<32))
        writer.write(id)
        var reader = BCSReader(writer.bytes)
        #expect(try reader.readBytes(max: 10) == [1, 2, 3])
        #expect(try reader.readString(max: 100) == "walrus ü")
        #expect(try reader.readOption(of: UInt32.self) == nil)
        #expect(try reader.readOption(of: UInt32.self) == 7)
        #expect(try reader.readSequence(of: UInt16.self, max: 3, minElementBytes: 2) == [1, 2, 65535])
        #expect(try reader.read(SliverAxis.self) == .secondary)
        #expect(try reader.read(Epoch.self) == Epoch(9))
        #expect(try reader.read(FROST.self) == FROST(123))
        #expect(try reader.read(BlobID.self) == id)
        try reader.finish()
    }

    @Test func malformedInputIsRejected() {
        // Trailing bytes.
        #expect { _ = try UInt32.decode(bcs: [1, 0, 0, 0, 9]) } throws: { ($0 as! CoreError).message.contains("trailing") }
        // Truncated.
        #expect { _ = try UInt64.decode(bcs: [1, 2, 3]) } throws: { ($0 as! CoreError).message.contains("truncated") }
        // Bool and option tags outside 0/1.
        #expect(throws: CoreError.self) { try Bool.decode(bcs: [2]) }
        var reader = BCSReader([2, 0])
        #expect(throws: CoreError.self) { try reader.readOption(of: UInt8.self) }
        // Variant out of range.
        #expect(throws: CoreError.self) { try SliverAxis.decode(bcs: [2]) }
        // A length beyond the caller's bound.
        reader = BCSReader([5, 1, 2, 3, 4, 5])
        #expect { _ = try reader.readBytes(max: 4) } throws: { ($0 as! CoreError).message.contains("exceeds the limit") }
        // Invalid UTF-8.
        reader = BCSReader([2, 0xc3, 0x28])
        #expect(throws: CoreError.self) { try reader.readString(max: 10) }
    }

    @Test func hostileLengthIsRejectedBeforeAllocating() {
        // 2^31-1 elements claimed, three bytes present: rejected by the remaining-bytes check.
        var reader = BCSReader([0xff, 0xff, 0xff, 0xff, 0x07, 1, 2, 3])
        #expect {
            _ = try reader.readSequence(of: UInt64.self, max: Int.max, minElementBytes: 8)
        } throws: { ($0 as! CoreError).message.contains("more than the 3 byte(s) left") }
        // Beyond BCS's maximum sequence length.
        reader = BCSReader([0xff, 0xff, 0xff, 0xff, 0x0f])
        #expect(throws: CoreError.self) { try reader.readLength(max: Int.max) }
    }

    /// Random bytes through every decoder: none may crash, and whatever decodes re-encodes to the
    /// same bytes (BCS is canonical).
    @Test func randomBytesNeverCrashAndDecodedValuesAreCanonical() {
        var rng = SeededGenerator(seed: 0xbc5)
        var decoded = 0
        for _ in 0..<20_000 {
            let length = Int(rng.next() % 48)
            let bytes = rng.bytes(length)
            decoded += roundTrip(UInt8.self, bytes) + roundTrip(UInt16.self, bytes) + roundTrip(UInt64.self, bytes)
            decoded += roundTrip(Bool.self, bytes) + roundTrip(SliverAxis.self, bytes) + roundTrip(Epoch.self, bytes)
            decoded += roundTrip(BlobID.self, bytes) + roundTrip(ObjectID.self, bytes) + roundTrip(FROST.self, bytes)
            decoded += roundTrip(ShardIndex.self, bytes)
            var reader = BCSReader(bytes)
            if let value = try? reader.readBytes(max: 64), (try? reader.finish()) != nil {
                var writer = BCSWriter()
                writer.writeBytes(value)
                #expect(writer.bytes == bytes)
                decoded += 1
            }
            reader = BCSReader(bytes)
            if let value = try? reader.readOption(of: UInt16.self), (try? reader.finish()) != nil {
                var writer = BCSWriter()
                writer.writeOption(value)
                #expect(writer.bytes == bytes)
                decoded += 1
            }
            reader = BCSReader(bytes)
            if let value = try? reader.readSequence(of: UInt32.self, max: 16, minElementBytes: 4), (try? reader.finish()) != nil {
                var writer = BCSWriter()
                writer.writeSequence(value)
                #expect(writer.bytes == bytes)
                decoded += 1
            }
            reader = BCSReader(bytes)
            _ = try? reader.readString(max: 64)
        }
        #expect(decoded > 100, "some random inputs decode")
    }

    private func roundTrip<T: BCSCodable>(_ type: T.Type, _ bytes: [UInt8]) -> Int {
        guard let value = try? T.decode(bcs: bytes) else { return 0 }
        #expect(value.bcsBytes == bytes, "\(T.self) re-encodes canonically")
        return 1
    }
}
