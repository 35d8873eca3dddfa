import Consensus
import Foundation
import KVStore
import WalrusCore
import WalrusCrypto

/// The signing guard on disk, in files of its own next to the validator's key, outside the chain
/// database: an operator who wipes the chain data (to re-sync it) keeps what the key last signed,
/// so the validator cannot sign a second, conflicting message for a height and round it already
/// signed for.
///
/// Two slots (`PATH.a`, `PATH.b`) are written in turn, each `sequence ‖ length ‖ state ‖
/// BLAKE2b-256 of the three`, then synced (fdatasync) before the signature it allows leaves; a torn
/// write spoils only the slot being written, and loading takes the valid slot with the higher
/// sequence. It fails closed: a slot that exists but cannot be read or checked stops the
/// validator from starting, and so does a missing guard when the chain database shows the
/// validator has committed blocks (unless the database holds the guard of an earlier version,
/// which is moved here).
final class GuardFile: @unchecked Sendable {
    let path: String
    private var sequence: UInt64
    private var descriptors: [Int32]

    static let stateBytesMax = 1 << 20

    /// Opens (creating) the guard at `path`. `chainHeight` is the chain database's committed
    /// height; `legacy` the guard an earlier version kept in that database, if any.
    init(path: String, chainHeight: UInt64, legacy: SigningGuard?) throws(NodeError) {
        self.path = path
        var best: (UInt64, SigningGuard)?
        var existing = 0, created = 0
        for slot in ["a", "b"] {
            let file = "\(path).\(slot)"
            guard FileManager.default.fileExists(atPath: file) else { continue }
            existing += 1
            guard let data = FileManager.default.contents(atPath: file) else {
                throw NodeError(.config, "cannot read the signing guard \(file); fix its permissions or restore it (starting without it could sign twice)")
            }
            // An empty slot was created and never written: the key signed nothing through it.
            if data.isEmpty {
                created += 1
                continue
            }
            guard let (sequence, state) = GuardFile.decode(Array(data)) else { continue }
            if best.map({ sequence > $0.0 }) ?? true { best = (sequence, state) }
        }
        if existing > created && best == nil {
            throw NodeError(.config, "the signing guard \(path).a/.b does not verify; restore it from a backup (starting without it could sign twice)")
        }
        if best == nil {
            if let legacy {
                best = (0, legacy)
            } else if chainHeight > 0 && existing == 0 {
                throw NodeError(
                    .config,
                    "the signing guard \(path).a/.b is missing but the chain data is at height \(chainHeight): restore the guard (starting without it could sign twice)")
            }
        }
        sequence = best?.0 ?? 0
        descriptors = []
        for slot in ["a", "b"] {
            let fd = open("\(path).\(slot)", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw NodeError(.config, "cannot open the signing guard \(path).\(slot): \(String(cString: strerror(errno)))") }
            descriptors.append(fd)
        }
        state = best?.1 ?? SigningGuard()
        if best != nil && existing == 0 {
            do { try store(state) } catch { throw NodeError(.config, "cannot write the signing guard \(path): \(error.message)") }
        }
        // The slots' directory entries must be durable before anything relies on them.
        let directory = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    deinit { for fd in descriptors { close(fd) } }

    /// The guard as last stored.
    private(set) var state: SigningGuard

    /// Stores `next` durably in the older slot; throws (and nothing may be signed) when it cannot.
    func store(_ next: SigningGuard) throws(KVError) {
        let nextSequence = sequence &+ 1
        let bytes = GuardFile.encode(sequence: nextSequence, next)
        let fd = descriptors[Int(nextSequence % 2)]
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count, ftruncate(fd, off_t(bytes.count)) == 0, fdatasync(fd) == 0 else {
            throw KVError(.io, "cannot write the signing guard \(path): \(String(cString: strerror(errno)))")
        }
        sequence = nextSequence
        state = next
    }

    static func encode(sequence: UInt64, _ state: SigningGuard) -> [UInt8] {
        var writer = BCSWriter()
        writer.write(sequence)
        writer.writeBytes(StoredGuard(state).bcsBytes)
        return writer.bytes + Blake2b256.hash(writer.bytes)
    }

    static func decode(_ bytes: [UInt8]) -> (UInt64, SigningGuard)? {
        guard bytes.count > 32 else { return nil }
        let body = Array(bytes.dropLast(32))
        guard Blake2b256.hash(body) == Array(bytes.suffix(32)) else { return nil }
        var reader = BCSReader(body)
        guard let sequence = try? reader.readU64(), let state = try? reader.readBytes(max: stateBytesMax),
            (try? reader.finish()) != nil, let guardState = try? StoredGuard.decode(bcs: state)
        else { return nil }
        return (sequence, guardState.state)
    }
}
