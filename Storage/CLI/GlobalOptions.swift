import ArgumentParser

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the result as one JSON document on stdout.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print nothing on stderr but errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print more progress on stderr.")
    var verbose = false

    /// Progress for humans, on stderr; silent with --quiet.
    func progress(_ text: String) {
        if !quiet { Output.log(text) }
    }
}
