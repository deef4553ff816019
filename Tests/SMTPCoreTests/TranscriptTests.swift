// Each transcript in Transcripts/ is one test, run with the server's bytes delivered
// whole, line by line and one byte at a time; the client's bytes and outcomes must match
// in every mode, and nothing shown to a user may contain a secret.

import Codecs
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
