/// A set of variable names for the compiler's passes.
///
/// A body mentions a handful of variables, and the compiler builds many such sets per rule
/// (what each statement needs and binds, what is bound so far, the locals of a scope). A
/// `Set<String>` allocates storage and hashes every name with SipHash; this keeps the names in
/// an array in insertion order and compares them directly, which is several times cheaper for
/// a few names. Past `indexThreshold` names it keeps a `Set` beside the array as well, so a
/// large generated body never makes a lookup linear.
struct VarSet: Sequence, ExpressibleByArrayLiteral, CustomStringConvertible {
    private(set) var names: [String] = []
    private var index: Set<String>? = nil

    static let indexThreshold = 16

    init() {}

    init(arrayLiteral elements: String...) {
        for e in elements { insert(e) }
    }

    init<S: Sequence>(_ elements: S) where S.Element == String {
        for e in elements { insert(e) }
    }

    var isEmpty: Bool { names.isEmpty }
    var count: Int { names.count }
    var description: String { names.description }

    func makeIterator() -> IndexingIterator<[String]> { names.makeIterator() }

    @inline(__always)
    func contains(_ name: String) -> Bool {
        if let index { return index.contains(name) }
        for n in names where n == name { return true }
        return false
    }

    @discardableResult
    mutating func insert(_ name: String) -> Bool {
        if contains(name) { return false }
        names.append(name)
        if index != nil {
            index!.insert(name)
        } else if names.count > VarSet.indexThreshold {
            index = Set(names)
        }
        return true
    }

    mutating func formUnion<S: Sequence>(_ other: S) where S.Element == String {
        for n in other { insert(n) }
    }

    func union<S: Sequence>(_ other: S) -> VarSet where S.Element == String {
        var out = self
        out.formUnion(other)
        return out
    }

    mutating func remove(_ name: String) {
        guard let i = names.firstIndex(of: name) else { return }
        names.remove(at: i)
        index?.remove(name)
    }

    mutating func subtract<S: Sequence>(_ other: S) where S.Element == String {
        for n in other { remove(n) }
    }

    func subtracting(_ other: VarSet) -> VarSet {
        filter { !other.contains($0) }
    }

    func intersection(_ other: VarSet) -> VarSet {
        filter { other.contains($0) }
    }

    func isSubset(of other: VarSet) -> Bool {
        for n in names where !other.contains(n) { return false }
        return true
    }

    func filter(_ isIncluded: (String) throws -> Bool) rethrows -> VarSet {
        var out = VarSet()
        for n in names where try isIncluded(n) { out.insert(n) }
        return out
    }
}
