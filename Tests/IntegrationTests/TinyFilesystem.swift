import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tmpfs of a few MiB mounted over a directory, so that a test can fill a disk for real and see
/// `ENOSPC`. Mounting needs root (CAP_SYS_ADMIN), which CI has; elsewhere the tests that use it are
/// reported as skipped, with the reason.
final class TinyFilesystem {
    let path: String
    private var mounted = false

    /// Mounts a tmpfs of `bytes` over `path` (created if missing).
    init(at path: String, bytes: Int) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(bytes)") == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM)
        }
        mounted = true
    }

    /// Grows (or shrinks) the file system in place; what it holds stays.
    func resize(bytes: Int) throws {
        guard mount("tmpfs", path, "tmpfs", UInt(MS_REMOUNT), "size=\(bytes)") == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM)
        }
    }

    /// Files under the mount, relative to it.
    func files() -> [String] {
        (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    /// Detaches the mount even while a process still has files open in it.
    func unmount() {
        if mounted { umount2(path, Int32(MNT_DETACH)) }
        mounted = false
    }

    deinit { unmount() }

    /// Whether this process may mount a tmpfs.
    static let available: Bool = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-mount-probe-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: probe) }
        return (try? TinyFilesystem(at: probe, bytes: 1 << 20)) != nil
    }()
}
