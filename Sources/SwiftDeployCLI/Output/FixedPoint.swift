#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A number as `printf`'s `%.<digits>f` writes it: the text `String(format: "%.<digits>f", value)` gives, from the
/// C library directly. Foundation's formatter costs about a millisecond on its first use in a process (locale and
/// CFString set-up), and `gate` prints its figures on every run (issue 15, finding 7). `FixedPointTests` holds the
/// two against each other.
enum FixedPoint {
    static func text(_ value: Double, digits: Int) -> String {
        let format = "%.\(max(0, digits))f"
        var buffer = [CChar](repeating: 0, count: 64)
        while true {
            let needed = withVaList([value]) { arguments in
                buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, arguments) }
            }
            if needed < 0 { return "\(value)" }
            if Int(needed) < buffer.count {
                return buffer.withUnsafeBufferPointer { bytes in
                    String(decoding: UnsafeRawBufferPointer(bytes).prefix(Int(needed)), as: UTF8.self)
                }
            }
            buffer = [CChar](repeating: 0, count: Int(needed) + 1)
        }
    }
}
