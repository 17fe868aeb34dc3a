import Foundation

/// Where the chain first stops holding, and why.
public struct HistoryChainBreak: Sendable, Hashable, Codable {
    /// The 1-based line number of the first line that is not what the chain says it should be.
    public var line: Int
    public var message: String
}

/// A line left incomplete by a crash.
public struct HistoryTornLine: Sendable, Hashable, Codable {
    public var line: Int
    /// True when a later append sealed it (listed its hash in `sealed`); false for a torn last line awaiting the next
    /// append.
    public var sealed: Bool
}

/// The verdict on a whole history's hash chain.
public struct HistoryChainStatus: Sendable, Hashable {
    /// Lines in the file, torn ones included.
    public var lines = 0
    /// Intact records.
    public var records = 0
    /// SHA-256 of the last intact line: what `--expect-head` compares and the next append's `prev`.
    public var head = HistoryRecord.genesisHash
    /// `seq` of the last intact line.
    public var headSequence = 0
    /// The first line where the chain is broken; nil when the chain holds.
    public var firstBreak: HistoryChainBreak?
    /// How many breaks in all (the verifier resynchronises after each).
    public var breakCount = 0
    /// The first 100 torn lines (all are counted in `tornCount`).
    public var tornLines: [HistoryTornLine] = []
    /// All torn lines.
    public var tornCount = 0

    public var isIntact: Bool { firstBreak == nil }
}

/// Checks the chain one line at a time, with bounded state, for `audit`.
///
/// Rules, in the order they are applied to an intact line N:
/// 1. the non-intact lines since the previous intact line must be exactly the
///    ones N lists in `sealed` (torn writes); otherwise the first of them is
///    the break: it was edited into something that is not a record, or inserted;
/// 2. `seq` must be one more than the previous intact line's: a jump means
///    lines were deleted or moved (break at N); going back means reordered or
///    duplicated (break at N);
/// 3. `prev` must be the SHA-256 of the previous intact line; when it is not
///    (and `seq` follows), that previous line was altered after N was written
///    (break at that line).
/// Editing or deleting the *last* line cannot be seen from inside the file:
/// compare the head hash with a copy kept elsewhere (`--expect-head`).
/// `AuditReport.verify(history:expectedHead:)` is the public way in.
struct HistoryChainVerifier: Sendable {
    static let tornLineLimit = 100

    /// The verdict so far (after `finish()`: on the whole history).
    var status: HistoryChainStatus {
        var status = counted
        if let head { status.head = head.hex }
        return status
    }
    private var counted = HistoryChainStatus()
    /// SHA-256 of the last intact line (hexed only when `status` is asked for).
    private var head: LineDigest?
    private var expectedPrev = LineDigest.zero
    private var lastSequence = 0
    private var lastLine = 0
    private var pending: [(line: Int, hash: LineDigest)] = []

    init() {}

    /// Feeds line `number` (its hash, and its chain fields when it is intact).
    mutating func consume(
        line number: Int, hash: LineDigest, seq: Int?, prev: ChainPrev?, sealed: [String]?, terminated: Bool
    ) {
        counted.lines = number
        guard terminated else {
            // The last line, cut short by a crash: torn whatever it holds; the next append seals it.
            for p in pending { addTorn(p.line, sealed: false) }
            pending = []
            addTorn(number, sealed: false)
            return
        }
        guard let seq, let prev else {
            if pending.count < 10_000 {
                pending.append((number, hash))
            } else {
                breakAt(
                    pending[0].line,
                    "line \(pending[0].line) is not a valid history record and more than 10000 such lines follow it")
            }
            return
        }
        let sealed = sealed ?? []
        if !pending.isEmpty {
            if sealed == pending.map(\.hash.hex) {
                for p in pending { addTorn(p.line, sealed: true) }
            } else {
                let first = pending[0].line
                breakAt(
                    first,
                    """
                    line \(first) is not a valid history record and no later record seals it as a torn write: it \
                    was edited or inserted
                    """
                )
            }
            pending = []
        } else if !sealed.isEmpty {
            breakAt(
                number,
                """
                line \(number) seals \(sealed.count) torn line(s) just before it that are no longer in the file: \
                lines were deleted
                """
            )
        }
        if seq == lastSequence + 1 {
            if prev != .digest(expectedPrev) {
                if lastLine > 0 {
                    breakAt(
                        lastLine,
                        """
                        line \(lastLine) was altered: its SHA-256 is \(expectedPrev.hex) but line \(number) recorded \
                        prev \(prev.text)
                        """
                    )
                } else {
                    breakAt(
                        number,
                        """
                        line \(number) is the first record but its prev is \(prev.text), not the genesis hash: the \
                        start of the history was rewritten
                        """
                    )
                }
            }
        } else if seq > lastSequence + 1 {
            let missing =
                seq - 1 == lastSequence + 1
                ? "record #\(lastSequence + 1) is" : "records #\(lastSequence + 1)-#\(seq - 1) are"
            breakAt(
                number,
                """
                line \(number) holds record #\(seq) but #\(lastSequence + 1) was expected: \(missing) missing \
                (deleted or moved)
                """
            )
        } else {
            breakAt(
                number, "line \(number) holds record #\(seq) after #\(lastSequence): lines were reordered or duplicated"
            )
        }
        counted.records += 1
        head = hash
        counted.headSequence = seq
        expectedPrev = hash
        lastSequence = seq
        lastLine = number
    }

    /// Call after the last line.
    mutating func finish() {
        if let first = pending.first {
            breakAt(
                first.line,
                """
                line \(first.line) is not a valid history record and no later record seals it as a torn write: it \
                was edited or inserted
                """
            )
            pending = []
        }
    }

    private mutating func addTorn(_ line: Int, sealed: Bool) {
        counted.tornCount += 1
        if counted.tornLines.count < HistoryChainVerifier.tornLineLimit {
            counted.tornLines.append(HistoryTornLine(line: line, sealed: sealed))
        }
    }

    private mutating func breakAt(_ line: Int, _ message: String) {
        counted.breakCount += 1
        if counted.firstBreak == nil { counted.firstBreak = HistoryChainBreak(line: line, message: message) }
    }
}

/// A record's `prev` as the chain compares it: a digest when it is written as the history writes hashes (64
/// lower-case hex digits), else the text itself (64 bytes that can never equal a line's hash, named in the break).
enum ChainPrev: Sendable, Hashable {
    case digest(LineDigest)
    case other(String)

    init(_ text: String) {
        if let digest = LineDigest(hex: text) { self = .digest(digest) } else { self = .other(text) }
    }

    /// Its length in UTF-8 bytes (a record's `prev` must have 64).
    var byteCount: Int {
        switch self {
        case .digest: return 64
        case .other(let text): return text.utf8.count
        }
    }

    /// The `prev` as the line wrote it.
    var text: String {
        switch self {
        case .digest(let digest): return digest.hex
        case .other(let text): return text
        }
    }
}
