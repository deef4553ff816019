// SPDX-License-Identifier: MIT
// Listing an area of the file store at the scale of 100,000 entries: the names are
// taken from the directory as packed IDs (24 bytes each, nothing else held), sorted
// (IDs begin with their creation time), and each entry is read when its turn comes,
// relative to the directory's descriptor (`openat`, one `pread` into a reused
// buffer, `close`, and `fstatat` of the body unless only listed) instead of by full
// path, then handed on and dropped.

#if canImport(Glibc)
import Glibc
#endif

extension FileQueueStore {
  /// (Names other than `ID.env` are passed over: bodies, and strangers.) A page of
  /// `limit` IDs is picked while the directory is read, holding at most twice that many.
  public func entryIDs(
    _ area: QueueArea, after: PackedQueueID?, through: PackedQueueID?, limit: Int
  ) throws(QueueError) -> QueueIDPage {
    let dir = areaDirectory(area)
    var page = QueueIDPage(ids: [], largest: nil)
    // Once the candidates are cut back to `limit`, only IDs below the last one kept can
    // still be among the first `limit`.
    var bound: PackedQueueID?
    let trimAt = limit <= Int.max / 2 ? 2 * limit : Int.max
    let result = sys.readDirectory(dir) { name in
      let count = name.count
      guard count > 4, name[count - 4] == 0x2e, name[count - 3] == 0x65, name[count - 2] == 0x6e, name[count - 1] == 0x76,
        let id = PackedQueueID(bytes: UnsafeRawBufferPointer(rebasing: name.dropLast(4)))
      else { return }
      if let after, id <= after { return }
      if let through, id > through { return }
      if page.largest.map({ id > $0 }) ?? true { page.largest = id }
      if let bound, id > bound { return }
      page.ids.append(id)
      if page.ids.count >= trimAt {
        page.ids.sort()
        page.ids.removeLast(page.ids.count - limit)
        bound = page.ids.last
      }
    }
    if result == -ENOENT { return QueueIDPage(ids: [], largest: nil) }
    guard result == 0 else { throw .system(-result, .list, dir) }
    page.ids.sort()
    if page.ids.count > limit { page.ids.removeLast(page.ids.count - limit) }
    return page
  }

  public func forEachEntry(
    _ area: QueueArea, checkingBodies: Bool, _ visit: (QueueEntry) -> Void
  ) throws(QueueError) -> [QueueError] {
    let ids = try entryIDs(area)
    guard !ids.isEmpty else { return [] }
    let dir = areaDirectory(area)
    let fd = sys.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
    if fd == -ENOENT { return [] }
    guard fd >= 0 else { throw .system(-fd, .open, dir) }
    defer { _ = sys.close(fd) }
    var reader = AreaReader(store: self, area: area, directory: fd)
    var skipped: [QueueError] = []
    for id in ids {
      do throws(QueueError) {
        visit(try reader.read(id, checkingBody: checkingBodies))
      } catch .notFound {
        continue
      } catch {
        // Out of descriptors or memory: no entry can be judged, so none is reported bad.
        if error.isResourceShortage { throw error }
        skipped.append(error)
      }
    }
    return skipped
  }
}

/// Reads the entries of one area through the area directory's descriptor, into one buffer.
struct AreaReader {
  let store: FileQueueStore
  let area: QueueArea
  let directory: Int32
  private var buffer = [UInt8](repeating: 0, count: 65_536)

  init(store: FileQueueStore, area: QueueArea, directory: Int32) {
    self.store = store
    self.area = area
    self.directory = directory
  }

  /// Reads and checks one entry, as `FileQueueStore.loadEntry` does; without
  /// `checkingBody`, the body is not looked at (its size is the recorded one).
  mutating func read(_ packed: PackedQueueID, checkingBody: Bool) throws(QueueError) -> QueueEntry {
    let id = packed.id
    // Through `store.sys` each time: a copy of the table would retain its 18 closures.
    let fd = packed.withFileName(".env") { store.sys.openAt(directory, $0, O_RDONLY | O_CLOEXEC) }
    if fd == -ENOENT { throw .notFound(id) }
    guard fd >= 0 else { throw .system(-fd, .open, store.envPath(id, area)) }
    let decoded: Result<QueueEntry, EnvelopeRecord.ParseFailure>
    do throws(QueueError) {
      decoded = try readEnvelope(fd, id)
    } catch {
      _ = store.sys.close(fd)
      throw error
    }
    _ = store.sys.close(fd)
    if !checkingBody, case .success(let entry) = decoded { return entry }
    let body = packed.withFileName(".body") { store.sys.statAt(directory, $0) }
    return try store.checked(decoded, id, area, body: body) {
      packed.withFileName(".env") { store.sys.statAt(directory, $0) }.0 == 0
    }
  }

  /// Reads and parses the open envelope file. One `pread` into the buffer is enough when
  /// it comes back short of the buffer and what it read parses: a complete envelope ends
  /// with its end record, so the file can hold nothing more but what would make it
  /// corrupt (which the full read of a run's `load` finds). Otherwise the file is read to
  /// its end before it is judged.
  private mutating func readEnvelope(_ fd: Int32, _ id: QueueID) throws(QueueError)
    -> Result<QueueEntry, EnvelopeRecord.ParseFailure>
  {
    var total = try readChunk(fd, id, at: 0)
    if total > 0 && total < buffer.count, case .success(let entry) = decode(total, id) { return .success(entry) }
    while true {
      if total == buffer.count {
        // One byte over the limit is enough to tell that the file is too big.
        let grown = min(2 * buffer.count, FileQueueStore.maximumEnvelopeSize + 1)
        guard grown > buffer.count else {
          throw .io(path: store.envPath(id, area), errno: EFBIG, operation: .read)
        }
        buffer += [UInt8](repeating: 0, count: grown - buffer.count)
      }
      let n = try readChunk(fd, id, at: total)
      if n == 0 { return decode(total, id) }
      total += n
      guard total <= FileQueueStore.maximumEnvelopeSize else {
        throw .io(path: store.envPath(id, area), errno: EFBIG, operation: .read)
      }
    }
  }

  /// One `pread` at `offset` into the rest of the buffer.
  /// - Returns: The number of bytes read.
  private mutating func readChunk(_ fd: Int32, _ id: QueueID, at offset: Int) throws(QueueError) -> Int {
    let n = buffer.withUnsafeMutableBytes { raw in
      store.sys.pread(fd, UnsafeMutableRawBufferPointer(rebasing: raw[offset...]), offset)
    }
    guard n >= 0 else { throw .system(Int32(-n), .read, store.envPath(id, area)) }
    return n
  }

  private func decode(_ count: Int, _ id: QueueID) -> Result<QueueEntry, EnvelopeRecord.ParseFailure> {
    buffer.withUnsafeBytes { raw in
      EnvelopeRecord.decode(UnsafeRawBufferPointer(rebasing: raw[..<count]), id: id, area: area)
    }
  }
}

extension PackedQueueID {
  /// Runs `body` with the name of one of the entry's files (the ID and `suffix`) as a C
  /// string made on the stack.
  func withFileName<T>(_ suffix: StaticString, _ body: (UnsafePointer<CChar>) -> T) -> T {
    withBytes { bytes in
      withUnsafeTemporaryAllocation(of: CChar.self, capacity: QueueID.maximumLength + 8) { name in
        var index = 0
        for byte in bytes {
          name[index] = CChar(bitPattern: byte)
          index += 1
        }
        for byte in UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount) {
          name[index] = CChar(bitPattern: byte)
          index += 1
        }
        name[index] = 0
        return body(UnsafePointer(name.baseAddress.unsafelyUnwrapped))
      }
    }
  }
}
