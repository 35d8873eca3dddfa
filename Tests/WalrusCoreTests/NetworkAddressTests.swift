import Testing
import WalrusCore

@Suite struct NetworkAddressTests {
    @Test(arguments: ["127.0.0.1:9000", "node-1.example.org:443", "[::1]:8080", "[2001:db8::1]:65535", "localhost:1"])
    func acceptsHostAndPort(text: String) throws {
        let address = try NetworkAddress(parsing: text)
        #expect(address.description == text)
        #expect(address.httpBase == "http://\(text)")
    }

    /// What a hostile registration could try: paths, schemes, credentials, queries, whitespace,
    /// ports out of range, empty parts and overlong text are all refused.
    @Test(arguments: [
        "", "x", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:99999999999999999999",
        "127.0.0.1:80/v1/admin", "http://127.0.0.1:80", "user@host:80", "host:80?x=1", "host :80", "host:+80", "host:8 0",
        "-host:80", ".host:80", "a..b:80", "[::1:80", "[zz::1]:80", "[]:80", "ho%st:80", "host:80#x", "host\n:80",
        String(repeating: "a", count: 300) + ":80",
    ])
    func refusesAnythingElse(text: String) {
        #expect(throws: CoreError.self) { try NetworkAddress(parsing: text) }
    }
}
