import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

@Suite struct ExpositionParserTests {
    let parser = ExpositionParser()

    @Test func parsesHelpTypeAndCounterSamples() throws {
        let text = """
            # HELP http_requests_total Requests answered.\\nSecond line with a \\\\ backslash.
            # TYPE http_requests_total counter
            http_requests_total{method="GET",path="/",status_code="200"} 1027 1395066363000
            http_requests_total{method="POST",path="/",status_code="500"} 3
            """
        let families = try parser.parse(text)
        #expect(families.count == 1)
        let family = try #require(families.first)
        #expect(family.name == "http_requests_total")
        #expect(family.type == .counter)
        #expect(family.help == "Requests answered.\nSecond line with a \\ backslash.")
        #expect(family.samples.count == 2)
        #expect(family.samples[0].value == 1027)
        #expect(family.samples[0].timestampMs == 1_395_066_363_000)
        #expect(family.samples[0][label: "status_code"] == "200")
        #expect(family.samples[1].timestampMs == nil)
        #expect(family.samples[1][label: "method"] == "POST")
    }

    @Test func unescapesLabelValues() throws {
        let text =
            #"msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9"#
        let sample = try #require(try parser.parse(text).first?.samples.first)
        #expect(sample[label: "path"] == #"C:\DIR\FILE.TXT"#)
        #expect(sample[label: "error"] == "Cannot find file:\n\"FILE.TXT\"")
        #expect(sample.value == 1.458255915e9)
        #expect(
            sample.seriesKey
                == #"msdos_file_access_time_seconds{error="Cannot find file:\n\"FILE.TXT\"",path="C:\\DIR\\FILE.TXT"}"#)
    }

    @Test func keepsSpecialValues() throws {
        let text = """
            a NaN
            b +Inf
            c -Inf
            d Inf
            e 1e-3
            f -0.5
            g .5
            """
        let samples = try parser.parse(text).flatMap(\.samples)
        #expect(samples.count == 7)
        #expect(samples[0].value.isNaN)
        #expect(samples[1].value == .infinity)
        #expect(samples[2].value == -.infinity)
        #expect(samples[3].value == .infinity)
        #expect(samples[4].value == 0.001)
        #expect(samples[5].value == -0.5)
        #expect(samples[6].value == 0.5)
    }

    @Test func groupsHistogramAndSummarySamples() throws {
        let text = """
            # TYPE http_request_duration_seconds histogram
            http_request_duration_seconds_bucket{le="0.05"} 24054
            http_request_duration_seconds_bucket{le="0.1"} 33444
            http_request_duration_seconds_bucket{le="+Inf"} 144320
            http_request_duration_seconds_sum 53423
            http_request_duration_seconds_count 144320
            # TYPE rpc_duration_seconds summary
            rpc_duration_seconds{quantile="0.01"} 3102
            rpc_duration_seconds{quantile="0.99"} 76656
            rpc_duration_seconds_sum 1.7560473e+07
            rpc_duration_seconds_count 2693
            """
        let families = try parser.parse(text)
        #expect(families.map(\.name) == ["http_request_duration_seconds", "rpc_duration_seconds"])
        #expect(families[0].type == .histogram)
        #expect(families[0].samples.count == 5)
        #expect(families[0].samples[2][label: "le"] == "+Inf")
        #expect(families[1].type == .summary)
        #expect(families[1].samples.count == 4)
    }

    @Test func toleratesCommentsBlankLinesTrailingCommaAndCRLF() throws {
        let text = "# a free comment\n\nfoo{a=\"1\",} 2\r\n  \nbar 3\n"
        let samples = try parser.parse(text).flatMap(\.samples)
        #expect(samples.map(\.name) == ["foo", "bar"])
        #expect(samples[0].labels == [MetricLabel("a", "1")])
    }

    @Test func parsesOpenMetricsWithEOFUnitsExemplarsAndSecondTimestamps() throws {
        let text = """
            # TYPE acme_http_router_request_seconds histogram
            # UNIT acme_http_router_request_seconds seconds
            # HELP acme_http_router_request_seconds Latency \\"quoted\\".
            acme_http_router_request_seconds_bucket{le="0.1"} 8 # {trace_id="KOO5S4vxi0o"} 0.067
            acme_http_router_request_seconds_bucket{le="+Inf"} 10
            acme_http_router_request_seconds_sum 1.5 1520879607.789
            acme_http_router_request_seconds_count 10
            # TYPE requests counter
            requests_total 7
            requests_created 1520430000.123
            # EOF

            """
        let families = try parser.parse(text)
        #expect(families.count == 2)
        #expect(families[0].unit == "seconds")
        #expect(families[0].help == "Latency \"quoted\".")
        #expect(families[0].samples.count == 4)
        #expect(families[0].samples[2].timestampMs == 1_520_879_607_789)
        #expect(families[1].name == "requests")
        #expect(families[1].samples.map(\.name) == ["requests_total", "requests_created"])
    }

    @Test func snapshotDetectsTheFormatFromContentTypeOrEOF() throws {
        let om = try MetricsSnapshot.parse(Data("# TYPE x counter\nx_total 1\n# EOF\n".utf8), source: "t")
        #expect(om.format == .openMetrics)
        #expect(om.total("x_total") == 1)
        let text = try MetricsSnapshot.parse(Data("x 1\n".utf8), source: "t", contentType: "text/plain; version=0.0.4")
        #expect(text.format == .prometheusText)
        #expect(throws: ExpositionError.self) {
            try MetricsSnapshot.parse(
                Data("x 1\n".utf8), source: "t", contentType: "application/openmetrics-text; version=1.0.0")
        }
    }

    struct Malformed: CustomTestStringConvertible, Sendable {
        var text: String
        var line: Int
        var message: String
        var format: ExpositionFormat = .prometheusText
        var testDescription: String { message }
    }

    static let malformed: [Malformed] = [
        Malformed(text: "foo 1\nbar\n", line: 2, message: "sample bar has no value"),
        Malformed(
            text: "foo abc\n", line: 1,
            message: "value \"abc\" of foo is not a number (expected a float, NaN, +Inf or -Inf)"),
        Malformed(text: "foo{a=\"1\" 2\n", line: 1, message: "expected , or } after label a of foo, found '2'"),
        Malformed(text: "foo{a=\"1} 2\n", line: 1, message: "unterminated value of label a of foo: missing closing \""),
        Malformed(text: "foo{a=1} 2\n", line: 1, message: "expected \" to open the value of label a of foo"),
        Malformed(
            text: "foo{a=\"\\x\"} 2\n", line: 1,
            message: "invalid escape \\x in the value of label a of foo (allowed: \\\\, \\\", \\n)"),
        Malformed(text: "foo{a=\"1\",a=\"2\"} 2\n", line: 1, message: "label a appears twice in foo"),
        Malformed(
            text: "foo 1 abc\n", line: 1, message: "timestamp \"abc\" of foo is not an integer number of milliseconds"),
        Malformed(text: "foo 1 2 3\n", line: 1, message: "unexpected text after the value of foo"),
        Malformed(
            text: "# TYPE foo countr\nfoo 1\n", line: 1,
            message: "unknown metric type \"countr\" for foo (expected counter, gauge, histogram, summary or untyped)"),
        Malformed(text: "# TYPE foo counter\n# TYPE foo gauge\n", line: 2, message: "second TYPE line for foo"),
        Malformed(text: "foo 1\n# TYPE foo counter\n", line: 2, message: "TYPE line for foo after its samples"),
        Malformed(
            text: "# TYPE h histogram\nh_bucket{x=\"1\"} 1\n", line: 2,
            message: "histogram bucket h_bucket has no le label"),
        Malformed(
            text: "# TYPE h histogram\nh_bucket{le=\"big\"} 1\n", line: 2,
            message: "histogram bucket h_bucket has le=\"big\", which is not a number"),
        Malformed(text: "# TYPE s summary\ns 1\n", line: 2, message: "summary sample s has no quantile label"),
        Malformed(
            text: "<html><body>Bad gateway</body></html>\n", line: 1,
            message: "expected a metric name, a comment or an empty line"),
        Malformed(text: "foo{ 1\n", line: 1, message: "expected a label name in foo, found '1'"),
        Malformed(
            text: "x_total 1\n", line: 1, message: "OpenMetrics body does not end with # EOF (the body is truncated)",
            format: .openMetrics),
        Malformed(text: "x 1\n# EOF\ny 2\n", line: 3, message: "content after # EOF", format: .openMetrics),
        Malformed(
            text: "x 1\n\n# EOF\n", line: 2, message: "empty line (OpenMetrics allows none)", format: .openMetrics),
    ]

    @Test(arguments: malformed)
    func malformedInputNamesTheLine(_ case_: Malformed) throws {
        let error = try #require(throws: ExpositionError.self) { try parser.parse(case_.text, format: case_.format) }
        #expect(error.line == case_.line)
        #expect(error.message == case_.message)
        #expect(error.errorDescription?.contains("metrics line \(case_.line):") == true)
    }

    @Test func invalidUTF8InALabelIsAnError() throws {
        var data = Data("foo{a=\"".utf8)
        data.append(contentsOf: [0xFF, 0xFE])
        data.append(Data("\"} 1\n".utf8))
        let error = try #require(throws: ExpositionError.self) { try parser.parse(data) }
        #expect(error.message == "value of label a of foo is not valid UTF-8")
    }

    @Test func neverTrapsOnArbitraryBytes() {
        // A trap ends the process: the seed line, printed first, is what replays it.
        let seed = FuzzSeed.resolve(
            test: "ExpositionParserTests.neverTrapsOnArbitraryBytes",
            filter: "SwiftDeployKitTests.ExpositionParserTests/neverTrapsOnArbitraryBytes")
        var generator = seed.generator
        let alphabet = Array("a_{}=\",# \n\\+-.eE0123456789NaInf\t".utf8) + [0x00, 0xFF, 0xC3]
        for _ in 0..<2_000 {
            let length = Int.random(in: 0..<80, using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            _ = try? parser.parse(Data(bytes))
        }
    }

    @Test func parsesTheDemoServiceExposition() throws {
        var demo = DemoMetrics()
        demo.record(path: "/", status: 200, seconds: 0.02, count: 40)
        demo.record(path: "/", status: 500, seconds: 0.3, count: 2)
        demo.record(path: "/healthz", status: 200, seconds: 0.001, count: 9)
        let snapshot = try MetricsSnapshot.parse(Data(demo.exposition().utf8), source: "demo")
        #expect(snapshot.total("http_requests_total") == 51)
        #expect(snapshot.samples(named: "http_request_duration_seconds_bucket").count == 24)
        #expect(snapshot.total("chaos_active") == 0)
    }
}
