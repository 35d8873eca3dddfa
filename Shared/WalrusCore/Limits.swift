/// The protocol's named limits, each with its unit in the name (PROTOCOL.md §1.2, §4.1, §5).
public enum Limits {
    /// The largest Red Stuff symbol: `u16::MAX - 1` bytes (the symbol size must be even).
    public static let symbolBytesMax: UInt64 = 65_534
    /// The alignment of a symbol for RS2: GF(2^16) elements are 2 bytes.
    public static let symbolAlignmentBytes: UInt64 = 2
    /// The fewest shards an RS2 encoding supports (one faulty shard).
    public static let shardCountMin: UInt16 = 4
    /// The most shards supported: the GF(2^16) Reed-Solomon codec takes at most 32,768 original and
    /// 32,768 recovery shards per code, and both Red Stuff codes have fewer than `n` of each.
    public static let shardCountMax: UInt16 = 32_767
    /// The shard count of Mainnet and Testnet, and the default for `walrus blob-id`.
    public static let shardCountDefault: UInt16 = 1000
    /// One storage unit: prices are per MiB of encoded size.
    public static let storageUnitBytes: UInt64 = 1_048_576
    /// Storage units (whole MiB, rounded up) of `encodedBytes`: what storage and writes are priced by.
    /// Never overflows: any 64-bit size has a unit count.
    public static func storageUnits(_ encodedBytes: UInt64) -> UInt64 {
        encodedBytes / storageUnitBytes + (encodedBytes % storageUnitBytes == 0 ? 0 : 1)
    }
    /// The contract's hard cap on how many epochs ahead storage can be bought.
    public static let epochsAheadMax: UInt32 = 1000
    /// The encoding type byte of RS2 (RedStuff over Reed-Solomon); byte 0 (RaptorQ) is rejected.
    public static let encodingTypeRS2: UInt8 = 1
    /// The most bytes of a storage node's network address (`host:port`).
    public static let networkAddressBytesMax = 259
    /// FROST per WAL.
    public static let frostPerWAL: UInt64 = 1_000_000_000
    /// WAL's total supply in FROST (5 × 10^9 WAL).
    public static let walSupplyFrost: UInt64 = 5_000_000_000 * 1_000_000_000
}
