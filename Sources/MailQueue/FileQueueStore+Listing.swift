// SPDX-License-Identifier: MIT
// Listing an area of the file store at the scale of 100,000 entries: the names are
// taken from the directory as packed IDs (24 bytes each, nothing else held), sorted
// (IDs begin with their creation time), and each entry is read when its turn comes,
// relative to the directory's descriptor (`openat`, `fstat`, one `pread` into a
// reused buffer, `fstatat` of the body) instead of by full path, then handed on and
// dropped.

#if canImport(Glibc)
import Glibc
#endif

extension FileQueueStore {
  /// (Names other than `ID.env` are passed over: bodies, and strangers.)
  public func entryIDs(_ area: QueueArea) throws(QueueError) -> [PackedQueueID] {
    let dir = areaDirectory(area)
    var ids: [PackedQueueID] = []
    let result = sys.readDirectory(dir) { name in
      let count = name.count
      guard count > 4, name[count - 4] == 0x2e, name[count - 3] == 0x65, name[count - 2] == 0x6e, name[count - 1] == 0x76,
        let id = PackedQueueID(bytes: UnsafeRawBufferPointer(rebasing: name.dropLast(4)))
      else { return }
      ids.append(id)
    }
    if result == -ENOENT { return [] }
    guard result == 0 else { throw .system(-result, .list, dir) }
    ids.sort()
    return ids
  }

  public func forEachEntry(_ area: QueueArea, _ visit: (QueueEntry) -> Void) throws(QueueError) -> [QueueError] {
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
        visit(try reader.read(id))
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

  /// Reads and checks one entry, as `FileQueueStore.loadEntry` does.
  mutating func read(_ packed: PackedQueueID) throws(QueueError) -> QueueEntry {
    let id = packed.id
    // Through `store.sys` each time: a copy of the table would retain its 18 closures.
    let fd = packed.withFileName(".env") { store.sys.openAt(directory, $0, O_RDONLY | O_CLOEXEC) }
    if fd == -ENOENT { throw .notFound(id) }
    guard fd >= 0 else { throw .system(-fd, .open, store.envPath(id, area)) }
    let count: Int
    do throws(QueueError) {
      count = try readAll(fd, id)
    } catch {
      _ = store.sys.close(fd)
      throw error
    }
    _ = store.sys.close(fd)
    let decoded = buffer.withUnsafeBytes { raw in
      EnvelopeRecord.decode(UnsafeRawBufferPointer(rebasing: raw[..<count]), id: id, area: area)
    }
    let body = packed.withFileName(".body") { store.sys.statAt(directory, $0) }
    return try store.checked(decoded, id, area, body: body) {
      packed.withFileName(".env") { store.sys.statAt(directory, $0) }.0 == 0
    }
  }

  /// Reads the open envelope file into the buffer (one `pread` of the size `fstat` gives:
  /// envelopes are rewritten by rename, never in place).
  /// - Returns: The number of bytes read.
  private mutating func readAll(_ fd: Int32, _ id: QueueID) throws(QueueError) -> Int {
    let (result, status) = store.sys.fstat(fd)
    guard result == 0, let status else { throw .system(-result, .stat, store.envPath(id, area)) }
    let limit = FileQueueStore.maximumEnvelopeSize
    guard status.size <= limit else { throw .io(path: store.envPath(id, area), errno: EFBIG, operation: .read) }
    if buffer.count <= status.size { buffer = [UInt8](repeating: 0, count: status.size + 1) }
    var total = 0
    while true {
      let n = buffer.withUnsafeMutableBytes { raw in
        store.sys.pread(fd, UnsafeMutableRawBufferPointer(rebasing: raw[total...]), total)
      }
      guard n >= 0 else { throw .system(Int32(-n), .read, store.envPath(id, area)) }
      total += n
      // Short of the buffer's end at the size fstat gave: the end of the file.
      if n == 0 || (total == status.size && total < buffer.count) { return total }
      if total == buffer.count {
        guard buffer.count <= limit else { throw .io(path: store.envPath(id, area), errno: EFBIG, operation: .read) }
        buffer += [UInt8](repeating: 0, count: buffer.count)
      }
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
