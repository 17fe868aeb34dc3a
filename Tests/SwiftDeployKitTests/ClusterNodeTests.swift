import Foundation
import Testing

@testable import SwiftDeployKit

/// `docker node inspect` as `status` reads it on Swarm (the shape Docker 20.10 prints, trimmed to the fields read).
struct ClusterNodeTests {
    static let twoNodes = """
        [{"ID":"q1pbbx22boo7ale1dda6zustj","Spec":{"Labels":{},"Role":"worker","Availability":"active"},
          "Description":{"Hostname":"vm"},"Status":{"State":"down","Addr":"10.250.77.2"}},
         {"ID":"qir978u9klcgxw2h8lb48mlu4","Spec":{"Labels":{"swiftdeploy.harness":"x"},"Role":"manager","Availability":"active"},
          "Description":{"Hostname":"vm"},"Status":{"State":"ready","Addr":"10.250.77.1"},"ManagerStatus":{"Leader":true}}]
        """

    @Test(
        """
        nodes come back managers first, named as their tasks are (hostname and id prefix), with role, state and \
        availability
        """
    )
    func parsesTwoNodes() throws {
        let nodes = try ClusterNode.parse(Self.twoNodes, command: "docker node inspect")
        #expect(nodes.map(\.name) == ["vm (qir978u9klcg)", "vm (q1pbbx22boo7)"])
        #expect(nodes.map(\.role) == ["manager", "worker"])
        #expect(nodes.map(\.state) == ["ready", "down"])
        #expect(nodes.map(\.isUp) == [true, false])
        #expect(
            nodes[1].json
                == .object([
                    "id": .string("q1pbbx22boo7ale1dda6zustj"), "name": .string("vm (q1pbbx22boo7)"),
                    "role": .string("worker"), "state": .string("down"), "availability": .string("active"),
                ]))
    }

    @Test(
        "an answer that is not an array of nodes is an error naming the command, never an empty cluster",
        arguments: [
            "", "{}", "not json", #"[{"Spec":{}}]"#, #"[{"ID":""}]"#,
        ])
    func refusesNonsense(_ answer: String) {
        #expect(throws: RuntimeError.self) { try ClusterNode.parse(answer, command: "docker node inspect a b") }
        do { _ = try ClusterNode.parse(answer, command: "docker node inspect a b") } catch {
            #expect(error.localizedDescription.contains("docker node inspect a b"))
        }
    }
}
