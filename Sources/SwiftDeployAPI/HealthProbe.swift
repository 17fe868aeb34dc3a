import Foundation
import SwiftDeployHTTP

/// `swiftdeploy-api healthcheck`: one HTTP/1.1 GET to a `/healthz` URL through the package's one HTTP
/// client (`SocketHTTPClient`, plain sockets), so the container image needs neither curl nor wget. Healthy means status
/// 200 and a body containing `"status":"ok"`.
///
/// Only `http://HOST[:PORT][/PATH]` URLs are accepted (HOST may be a name, an IPv4
/// address or a bracketed IPv6 address). Names resolve through the system resolver,
/// so `http://api:3000/healthz` works on a Compose network.
struct HealthProbe {
    struct Target: Equatable {
        var host: String
        var port: Int
        var path: String
    }

    enum Outcome: Equatable {
        case healthy(String)
        case unhealthy(String)
    }

    let target: Target
    /// Seconds allowed for connecting, and again for the answer.
    let timeout: Double

    /// Parses a probe URL, or returns why it cannot be used.
    static func parse(url: String) -> Result<Target, ProbeURLError> {
        let prefix = "http://"
        guard url.hasPrefix(prefix) else {
            return .failure(
                ProbeURLError(url: url, reason: "must start with http:// (https is not supported by the probe)"))
        }
        let rest = url.dropFirst(prefix.count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                return .failure(ProbeURLError(url: url, reason: "has an unclosed '[' in its IPv6 host"))
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                return .failure(ProbeURLError(url: url, reason: "has unexpected text after the IPv6 host"))
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return .failure(ProbeURLError(url: url, reason: "has no host")) }
        var port = 80
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                return .failure(ProbeURLError(url: url, reason: "has port '\(portText)', which is not 1-65535"))
            }
            port = value
        }
        return .success(Target(host: String(host), port: port, path: path.isEmpty ? "/" : String(path)))
    }

    /// Performs the probe through the one HTTP client (`SocketHTTPClient`, shared with swiftdeploy itself): `timeout`
    /// for connecting and again for the answer, at most 64 KiB read. Never throws: every failure becomes
    /// `.unhealthy(reason)`.
    func run() -> Outcome {
        let description =
            "http://\(target.host.contains(":") ? "[\(target.host)]" : target.host):\(target.port)\(target.path)"
        guard let url = URL(string: description) else {
            return .unhealthy("\(description) is not a URL the probe can use")
        }
        let limits = HTTPLimits(connectTimeout: timeout, totalTimeout: 2 * timeout, maxBodyBytes: 65536)
        let response: HTTPResponse
        do {
            response = try SocketHTTPClient().sendBlocking(
                method: "GET", url: url, headers: ["X-Request-ID": "healthcheck"], limits: limits)
        } catch let error as HTTPClientError {
            switch error {
            case .unresolvable(let host, let reason): return .unhealthy("cannot resolve '\(host)': \(reason)")
            case .refused: return .unhealthy("cannot connect to \(description): Connection refused")
            case .connectTimedOut: return .unhealthy("cannot connect to \(description): timed out after \(timeout)s")
            case .connectionFailed(_, let reason): return .unhealthy("cannot connect to \(description): \(reason)")
            case .timedOut: return .unhealthy("\(description) did not answer within \(timeout)s")
            case .tooLarge(_, let limit): return .unhealthy("\(description) answered more than \(limit) bytes")
            case .malformedResponse(_, let reason):
                return .unhealthy("\(description) answered something that is not HTTP: \(reason)")
            case .invalidURL: return .unhealthy("\(description) is not a URL the probe can use")
            }
        } catch {
            return .unhealthy("probing \(description) failed: \(error)")
        }
        let body = String(decoding: response.body, as: UTF8.self)
        guard response.status == 200 else {
            return .unhealthy("\(description) answered \(response.status): \(body.prefix(200))")
        }
        guard body.replacingOccurrences(of: " ", with: "").contains("\"status\":\"ok\"") else {
            return .unhealthy("\(description) answered 200 without \"status\":\"ok\": \(body.prefix(200))")
        }
        return .healthy("\(description) answered 200 \(body.prefix(200))")
    }
}

/// A probe URL that cannot be used; the message names the URL and the reason.
struct ProbeURLError: Error, Equatable {
    var url: String
    var reason: String
    var message: String { "healthcheck URL '\(url)' \(reason); use e.g. http://127.0.0.1:3000/healthz" }
}
