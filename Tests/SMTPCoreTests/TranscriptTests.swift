// Each transcript in Transcripts/ is one test, run with the server's bytes delivered
// whole, line by line and one byte at a time; the client's bytes and outcomes must match
// in every mode, and nothing shown to a user may contain a secret.

import Codecs
import Foundation
import SMTPCore
import Testing

@Suite("SMTP transcripts")
struct TranscriptTests {
  static let transcripts = Transcript.all()

  @Test("There are transcripts to run")
  func transcriptsExist() {
    #expect(Self.transcripts.count >= 30)
  }

  @Test("Transcript plays the same in every chunking", arguments: transcripts)
  func plays(transcript: Transcript) {
    for chunking in Chunking.allCases {
      var runner = TranscriptRunner(transcript, chunking: chunking)
      let run = runner.execute()
      #expect(run.mismatch == nil, "\(transcript.name)")
    }
  }

  @Test("No display string contains a secret", arguments: transcripts)
  func noSecretShown(transcript: Transcript) {
    var runner = TranscriptRunner(transcript, chunking: .whole)
    let run = runner.execute()
    let shown = run.displayed + run.actionTexts
    for secret in transcript.secrets {
      let encoded = Base64.encode(Array(secret.utf8))
      for text in shown {
        #expect(!text.contains(secret), "\(transcript.name): \(text)")
        #expect(!text.contains(encoded), "\(transcript.name): \(text)")
      }
    }
    // Every line whose display differs from the wire hides the whole payload.
    for (wire, display) in run.written where wire != display {
      #expect(display.hasSuffix("<redacted>"), "\(transcript.name): \(display)")
      let payload = wire.split(separator: " ").last.map(String.init) ?? wire
      #expect(!shown.contains { $0.contains(payload) }, "\(transcript.name): \(display)")
    }
  }
}

@Suite("Transcript harness")
struct TranscriptHarnessTests {
  /// Changes one line of a transcript's text.
  static func tampered(_ transcript: Transcript, _ change: (inout [String]) -> Bool) -> Transcript?
  {
    let url = Transcript.directory.appendingPathComponent(transcript.name + ".smtp")
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
    var lines = text.components(separatedBy: "\n")
    guard change(&lines) else { return nil }
    return Transcript(name: transcript.name, text: lines.joined(separator: "\n"))
  }

  @Test("A wrong client line is caught in every chunking", arguments: TranscriptTests.transcripts)
  func wrongClientLine(transcript: Transcript) {
    let broken = Self.tampered(transcript) { lines in
      guard let index = lines.firstIndex(where: { $0.hasPrefix("C: ") }) else { return false }
      lines[index] += "X"
      return true
    }
    guard let broken else { return }
    for chunking in Chunking.allCases {
      var runner = TranscriptRunner(broken, chunking: chunking)
      #expect(runner.execute().mismatch != nil)
    }
  }

  @Test("A wrong final outcome is caught in every chunking", arguments: TranscriptTests.transcripts)
  func wrongOutcome(transcript: Transcript) {
    let broken = Self.tampered(transcript) { lines in
      guard let index = lines.lastIndex(where: { $0.hasPrefix("= ") }) else { return false }
      lines[index] += " X"
      return true
    }
    #expect(broken != nil, "every transcript ends with an outcome")
    guard let broken else { return }
    for chunking in Chunking.allCases {
      var runner = TranscriptRunner(broken, chunking: chunking)
      #expect(runner.execute().mismatch != nil)
    }
  }
}
