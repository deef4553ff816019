// swift-tools-version:6.0
// libFuzzer targets for gsendmail's parsers, kept apart from the root package so that a
// normal build never needs the fuzzer runtime:
//   MessageCoreFuzz  (message)     the message scanner, header/address parsers, encoders,
//                                  and TOMLCore's configuration parser
//   SMTPReplyFuzz    (smtp-reply)  SMTPReplyParser and the SMTPClient state machine
//   BSCommandFuzz    (bs-command)  SMTPCommand parsing and SMTPServerSession (`-bs`)
//   JSONFuzz         (json)        the JSON reader and the OAuth documents read with it
// run.sh builds them with the fuzzer and address sanitizers and runs each for a while:
//   Fuzz/run.sh 60 smtp-reply bs-command json
// Seeds are in Corpus/<name>/. If libFuzzer warns "no interesting inputs were found", the
// Swift modules were built without coverage (run.sh passes -sanitize-coverage; objects
// built without it may have been reused): remove .build/x86_64-unknown-linux-gnu/release.
import PackageDescription

/// `@_cdecl("LLVMFuzzerTestOneInput")` needs a library-style main file.
let entryPoint: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
  name: "gsendmailFuzz",
  dependencies: [.package(name: "gsendmail", path: "..")],
  targets: [
    .target(name: "FuzzSupport"),
    .executableTarget(
      name: "MessageCoreFuzz",
      dependencies: [
        "FuzzSupport", .product(name: "MessageCore", package: "gsendmail"), .product(name: "TOMLCore", package: "gsendmail"),
      ],
      swiftSettings: entryPoint),
    .executableTarget(
      name: "SMTPReplyFuzz",
      dependencies: ["FuzzSupport", .product(name: "SMTPCore", package: "gsendmail")],
      swiftSettings: entryPoint),
    .executableTarget(
      name: "BSCommandFuzz",
      dependencies: [
        "FuzzSupport", .product(name: "SMTPCore", package: "gsendmail"),
        .product(name: "SMTPServerCore", package: "gsendmail"),
      ],
      swiftSettings: entryPoint),
    .executableTarget(
      name: "JSONFuzz",
      dependencies: [
        "FuzzSupport", .product(name: "Codecs", package: "gsendmail"), .product(name: "OAuth2", package: "gsendmail"),
      ],
      swiftSettings: entryPoint),
  ],
  swiftLanguageModes: [.v6]
)
