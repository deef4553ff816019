// swift-tools-version:6.0
// libFuzzer target for MessageCore's scanner, parsers and encoders and TOMLCore's
// configuration parser. Kept apart from the root package so that a normal build never
// needs the fuzzer runtime. Build and run:
//   swift build -c release --sanitize=fuzzer --sanitize=address \
//     -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp
//   .build/release/MessageCoreFuzz -max_total_time=600 -max_len=4096 Corpus \
//     ../Tests/TOMLCoreTests/Fixtures/valid
// If libFuzzer warns "no interesting inputs were found", the Swift modules were built
// without coverage (the -sanitize-coverage option is missing, or objects built without
// it were reused): remove .build/x86_64-unknown-linux-gnu/release and build again.
import PackageDescription

let package = Package(
  name: "MessageCoreFuzz",
  dependencies: [.package(name: "gsendmail", path: "..")],
  targets: [
    .executableTarget(
      name: "MessageCoreFuzz",
      dependencies: [
        .product(name: "MessageCore", package: "gsendmail"), .product(name: "TOMLCore", package: "gsendmail"),
      ],
      swiftSettings: [.unsafeFlags(["-parse-as-library"])])
  ],
  swiftLanguageModes: [.v6]
)
