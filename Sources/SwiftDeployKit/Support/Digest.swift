import Crypto
import Foundation

/// Lower-case hex SHA-256: how the history names manifests, thresholds and its own lines, and how the Swarm
/// config of nginx.conf is named.
public enum Digest {
    public static func sha256Hex(of data: Data) -> String {
        SHA256.hash(data: data).hexString
    }

    /// Without copying the bytes (the history's chain check hashes every line of a large file).
    static func sha256Hex(of bytes: UnsafeRawBufferPointer) -> String {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return hasher.finalize().withUnsafeBytes { digest in
            String(unsafeUninitializedCapacity: 64) { out in
                for (i, byte) in digest.enumerated() {
                    out[2 * i] = hexDigits[Int(byte >> 4)]
                    out[2 * i + 1] = hexDigits[Int(byte & 0x0F)]
                }
                return 64
            }
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

extension Sequence where Element == UInt8 {
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
