// swift-tools-version:6.0
// gsendmail: a sendmail-compatible mail submission agent for Gmail and the
// Google Workspace relay. Arrows point down (docs/design.md, "Layers"): pure cores
// (Codecs, MessageCore, SMTPCore, SMTPServerCore, TOMLCore, OAuth2, GSendmailCore)
// import no I/O; Transport is the only target that touches sockets and OpenSSL;
// GSendmailKit does the front end's I/O (delivery, queue glue, credentials, the log);
// GSendmailAdmin is what only gsendmailctl runs; the executables stay thin.
import PackageDescription

let package = Package(
  name: "gsendmail",
  products: [
    .executable(name: "gsendmail", targets: ["gsendmail"]),
    .executable(name: "gsendmailctl", targets: ["gsendmailctl"]),
    .executable(name: "gmail-test-server", targets: ["gmail-test-server"]),
    // For the libFuzzer package in Fuzz/, which depends on this one by path.
    .library(name: "Codecs", targets: ["Codecs"]),
    .library(name: "MessageCore", targets: ["MessageCore"]),
    .library(name: "OAuth2", targets: ["OAuth2"]),
    .library(name: "SMTPCore", targets: ["SMTPCore"]),
    .library(name: "SMTPServerCore", targets: ["SMTPServerCore"]),
    .library(name: "TOMLCore", targets: ["TOMLCore"]),
  ],
  dependencies: [
    // Pinned: every build resolves the same version (Package.resolved is not kept: the
    // commit ids it records differ between mirrors of the repository).
    .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
  ],
  targets: [
    // OpenSSL headers only: libssl/libcrypto are opened with dlopen() by CShim on the
    // first TLS or crypto call, so `--version` and `--dry-run` never load them.
    .target(name: "CShim", linkerSettings: [.linkedLibrary("dl")]),

    // Pure cores: no Glibc I/O, no Foundation.
    .target(name: "Codecs"),
    .target(name: "MessageCore", dependencies: ["Codecs"]),
    .target(name: "SMTPCore", dependencies: ["Codecs"]),
    .target(name: "SMTPServerCore", dependencies: ["Codecs"]),
    .target(name: "TOMLCore"),

    // I/O.
    .target(name: "Transport", dependencies: ["CShim"]),
    // The on-disk queue: entries, locks, retry policy, mailq rendering, failure notices.
    .target(name: "MailQueue", dependencies: ["Codecs", "MessageCore", "SMTPCore"]),
    // curl headers only: libcurl.so.4 is opened with dlopen() on the first HTTP request,
    // so `--version` and a send with a cached token never load it. CShim: OpenSSL loaded
    // first, and the trust-store choice and TLS policy of the SMTP connection.
    .target(name: "CCurlShim", dependencies: ["CShim"], linkerSettings: [.linkedLibrary("dl")]),
    .target(name: "HTTPClient", dependencies: ["CCurlShim"]),

    // OAuth 2.0: the pure protocol pieces, then the token cache and login plumbing.
    .target(name: "OAuth2", dependencies: ["Codecs"]),
    .target(name: "TokenStore", dependencies: ["Codecs", "OAuth2", "HTTPClient", "Transport"]),

    // What the front end decides, pure: the command line, the configuration and account
    // choice, aliases. No I/O: tests feed it values.
    .target(name: "GSendmailCore", dependencies: ["Codecs", "MessageCore", "OAuth2", "TOMLCore"]),
    // Front end: options, config, accounts, aliases, delivery, the exit-code table.
    .target(
      name: "GSendmailKit",
      dependencies: [
        "CShim", "Codecs", "GSendmailCore", "HTTPClient", "MailQueue", "MessageCore", "OAuth2", "SMTPCore", "SMTPServerCore",
        "TOMLCore", "TokenStore", "Transport",
      ],
      // A guard: no dependency imports Foundation, and should one ever do, this keeps
      // Foundation's String methods from being picked over the standard library's
      // here, which would drag all of Foundation (and ICU) into gsendmail.
      swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")]),
    // What only gsendmailctl does (doctor, status, the queue commands): kept out of the
    // set-group-ID gsendmail, which links GSendmailKit alone.
    .target(
      name: "GSendmailAdmin",
      dependencies: [
        "Codecs", "GSendmailCore", "GSendmailKit", "HTTPClient", "MailQueue", "MessageCore", "OAuth2", "SMTPCore", "TokenStore",
        "Transport",
      ],
      swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")]),
    // libstdc++.a for gsendmail: the C++ runtime pieces the static Swift runtime needs,
    // without loading libstdc++.so (module.modulemap says why).
    .target(name: "StaticCxxRuntime"),
    .executableTarget(name: "gsendmail", dependencies: ["GSendmailKit", "StaticCxxRuntime"]),
    .executableTarget(
      name: "gsendmailctl",
      dependencies: [
        "Codecs", "GSendmailAdmin", "GSendmailCore", "GSendmailKit", "OAuth2", "TokenStore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    // The local Gmail look-alike used by tests, benchmarks and the README demo.
    .target(name: "TestServerKit", dependencies: ["Codecs", "MessageCore", "SMTPServerCore", "Transport"]),
    .executableTarget(name: "gmail-test-server", dependencies: ["TestServerKit"]),

    // Helpers shared by test targets (feeding input whole, by line, by byte).
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .testTarget(name: "CodecsTests", dependencies: ["Codecs"]),
    .testTarget(name: "TOMLCoreTests", dependencies: ["TOMLCore", "TestSupport"], resources: [.copy("Fixtures")]),
    .testTarget(name: "MessageCoreTests", dependencies: ["MessageCore", "TestSupport"], resources: [.copy("Fixtures")]),
    .testTarget(name: "SMTPCoreTests", dependencies: ["SMTPCore"], resources: [.copy("Transcripts")]),
    .testTarget(name: "SMTPServerCoreTests", dependencies: ["SMTPServerCore", "Codecs", "TestSupport"]),
    .testTarget(name: "TestServerKitTests", dependencies: ["TestServerKit", "Transport"]),
    .testTarget(name: "TransportTests", dependencies: ["CShim", "Transport", "TestServerKit", "SMTPServerCore"]),
    .testTarget(name: "GSendmailCoreTests", dependencies: ["GSendmailCore"]),
    .testTarget(
      name: "GSendmailKitTests",
      dependencies: [
        "CShim", "Codecs", "GSendmailCore", "GSendmailKit", "MailQueue", "SMTPCore", "TestServerKit", "TestSupport",
        "TokenStore",
      ]),
    .testTarget(
      name: "GSendmailAdminTests", dependencies: ["GSendmailAdmin", "GSendmailCore", "GSendmailKit", "TokenStore"]),
    .testTarget(name: "MailQueueTests", dependencies: ["MailQueue", "MessageCore", "TestSupport"]),
    .testTarget(name: "OAuth2Tests", dependencies: ["OAuth2"]),
    .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "TestSupport"]),
    .testTarget(
      name: "TokenStoreTests", dependencies: ["TokenStore", "OAuth2", "HTTPClient", "Transport", "TestServerKit", "TestSupport"]),
    .testTarget(name: "EndToEndTests", dependencies: ["TestServerKit", "Transport"]),
  ],
  swiftLanguageModes: [.v6]
)
