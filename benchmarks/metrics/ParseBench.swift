// Parses a payload with swiftdeploy's ExpositionParser (the same source file the Kit builds, compiled -O by
// run.sh) and prints best-of-N throughput as JSON. Not a test: it reports figures.
import Foundation

@main
struct ParseBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        let path = arguments[1]
        let runs = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var best = Double.infinity
        var samples = 0
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            let families = try ExpositionParser().parse(data)
            samples = families.reduce(0) { $0 + $1.samples.count }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = min(best, elapsed)
        }
        let mb = Double(data.count) / 1e6
        print(
            #"{"parser": "swiftdeploy ExpositionParser (-O)", "bytes": \#(data.count), "series": \#(samples), "best_seconds": \#(String(format: "%.4f", best)), "mb_per_s": \#(String(format: "%.1f", mb / best)), "series_per_s": \#(Int(Double(samples) / best))}"#
        )
    }
}
