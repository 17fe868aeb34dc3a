import Testing

@testable import Rego

/// `VarSet` replaces `Set<String>` in the compiler's passes: it must behave as a set, small
/// (names compared in an array) and large (past its index threshold, a `Set` beside).
@Suite struct VarSetTests {
    @Test(arguments: [3, VarSet.indexThreshold, VarSet.indexThreshold + 1, 500])
    func behavesAsASet(_ n: Int) {
        let names = (0..<n).map { "v\($0)" }
        var s = VarSet(names + names.reversed())
        #expect(s.count == n, "duplicates are kept once")
        #expect(Array(s) == names, "insertion order")
        for name in names { #expect(s.contains(name)) }
        #expect(!s.contains("w"))
        let again = s.insert("v0")
        let added = s.insert("w")
        #expect(!again)
        #expect(added)
        #expect(s.contains("w") && s.count == n + 1)
        s.remove("w")
        s.remove("v0")
        #expect(!s.contains("w") && !s.contains("v0") && s.count == n - 1)
        let evens = VarSet(names.enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
        let all = VarSet(names)
        #expect(evens.isSubset(of: all))
        #expect(!all.isSubset(of: evens) || n <= 1)
        #expect(Set(all.intersection(evens)) == Set(evens))
        #expect(Set(all.subtracting(evens)) == Set(names).subtracting(Set(evens)))
        #expect(Set(evens.union(["x", "v1"])) == Set(evens).union(["x", "v1"]))
        var u = evens
        u.subtract(names)
        #expect(u.isEmpty)
        #expect(VarSet().isSubset(of: evens))
    }
}
