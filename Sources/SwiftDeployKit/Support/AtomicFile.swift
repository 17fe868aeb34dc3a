import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A file could not be written; nothing was changed (the temporary file, if any, is removed).
public struct FileWriteError: SwiftDeployFailure, Equatable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var exitStatus: ExitStatus { .operationFailed }

    public var errorDescription: String? {
        """
        could not write \(path): \(reason); check that the directory is writable and the disk not full (nothing \
        was changed)
        """
    }
}

/// Writes that never leave a half-written file: temporary sibling, fsync, rename.
public enum AtomicFile {
    /// Writes `data` to `url` atomically (no-op when the bytes are already there). Keeps the file's permissions.
    public static func write(_ data: Data, to url: URL) throws {
        if FileManager.default.contents(atPath: url.path) == data { return }
        try commit(try stage(data, for: url), to: url)
    }

    /// Writes `data` to a temporary file beside `url` and syncs it; returns its URL. Its mode is `mode`,
    /// else the existing file's, else 0644.
    static func stage(_ data: Data, for url: URL, mode forced: mode_t? = nil) throws -> URL {
        let dir = url.deletingLastPathComponent()
        let temp = dir.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let mode: mode_t
        if let forced {
            mode = forced
        } else if let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
            let permissions = attributes[.posixPermissions] as? NSNumber
        {
            mode = mode_t(permissions.uint16Value)
        } else {
            mode = 0o644
        }
        // Created owner-only, widened by fchmod once written: a secret never sits in a readable file.
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw FileWriteError(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var offset = 0
        let bytes = [UInt8](data)
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                unlink(temp.path)
                throw FileWriteError(path: url.path, reason: reason)
            }
            offset += n
        }
        fchmod(fd, mode)
        if fsync(fd) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temp.path)
            throw FileWriteError(path: url.path, reason: reason)
        }
        return temp
    }

    /// Renames the staged file over the target.
    static func commit(_ temp: URL, to url: URL) throws {
        guard rename(temp.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp.path)
            throw FileWriteError(path: url.path, reason: reason)
        }
    }
}

/// Rewrites a file's bytes in place (same inode): for a file another container bind-mounts, where a rename would
/// leave the mount on the old file. The bytes are written, the length cut and the file synced; only the reader we
/// trigger afterwards (an nginx reload after `nginx -t`) reads it.
enum InPlaceFile {
    static func write(_ data: Data, to url: URL) throws {
        if FileManager.default.contents(atPath: url.path) == data { return }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileWriteError(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = [UInt8](data)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileWriteError(path: url.path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
        guard ftruncate(fd, off_t(bytes.count)) == 0, fsync(fd) == 0 else {
            throw FileWriteError(path: url.path, reason: String(cString: strerror(errno)))
        }
    }
}
