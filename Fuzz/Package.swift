// swift-tools-version:6.0
// libFuzzer target for MessageCore's header and address parsers. Kept apart from the root
// package so that a normal build never needs the fuzzer runtime. Build and run:
//   swift build -c release --sanitize=fuzzer --sanitize=address
//   .build/release/MessageCoreFuzz -max_total_time=600 -max_len=4096 Corpus
// If libFuzzer warns "no interesting inputs were found", objects built without coverage
// were reused: remove .build/release and build again.
import PackageDescription

let package = Package(
  name: "MessageCoreFuzz",
  dependencies: [.package(name: "gsendmail", path: "..")],
  targets: [
    .executableTarget(
      name: "MessageCoreFuzz",
      dependencies: [.product(name: "MessageCore", package: "gsendmail")],
      swiftSettings: [.unsafeFlags(["-parse-as-library"])])
  ],
  swiftLanguageModes: [.v6]
)
