import ArgumentParser

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the result as one JSON document on stdout.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print nothing on stderr but errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print more progress on stderr.")
    var verbose = false

    @Option(name: .long, help: "The client config file (default: $WALRUS_CONFIG, ./client_config.yaml, ~/.config/walrus/client_config.yaml).")
    var config: String?

    @Option(name: .long, help: "The context of the client config to use.")
    var context: String?

    @Option(name: .long, help: "The wallet key file to sign with, instead of the context's wallet_key_file.")
    var wallet: String?

    @Option(name: .long, help: "Seconds to wait for the network before giving up.")
    var timeout: Double = 120

    /// Progress for humans, on stderr; silent with --quiet.
    func progress(_ text: String) {
        if !quiet { Output.log(text) }
    }
}
