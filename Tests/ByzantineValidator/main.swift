// A validator that signs conflicting prevotes: the equivocator of the tests that show the other
// validators gossip the evidence, commit it, and slash it. Built only for tests; never shipped.
//
//     walrus-byzantine-validator <config.yaml>
import Foundation
import Logging
@_spi(Byzantine) import ValidatorNode

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: walrus-byzantine-validator <config.yaml>\n".utf8))
    exit(2)
}
let config: NodeConfig
do { config = try NodeConfig.load(arguments[1]) } catch {
    FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
    exit(2)
}
let node: ValidatorNode
do {
    node = try await ValidatorNode.start(config, misbehaviour: .equivocate, logger: Logger(label: "byzantine-validator"))
} catch {
    FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
    exit(2)
}
// Runs until the test kills it.
while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
