// SPDX-License-Identifier: MIT
// The file store's housekeeping at the start of a queue run: crash leftovers
// (orphan bodies, tmp/ files of writers that died) and failed/ entries past their
// retention (`failed_lifetime`). Nothing anyone holds locked is touched.

#if canImport(Glibc)
import Glibc
#endif

extension FileQueueStore {
  public func sweep(now: Int, minimumAge: Int = 3600) throws(QueueError) {
    // Bodies without an env: crashed commits, removals and moves. A locked one is in use.
    for area in [QueueArea.queued, .failed] {
      for id in try orphanBodies(area) {
        guard let fd = lockFile(bodyPath(id, area)) else { continue }
        if !exists(envPath(id, area)) { _ = sys.unlink(bodyPath(id, area)) }
        _ = sys.close(fd)
      }
    }
    // tmp/: writers that died. Skip anything whose entry is locked or that is recent.
    var seen: Set<QueueID> = []
    for suffix in [".body", ".env"] {
      for id in try ids(in: tmpDirectory, suffix: suffix) where seen.insert(id).inserted {
        let candidates = [tmpDirectory + "/\(id).body", bodyPath(id, .queued), bodyPath(id, .failed)]
        var locked: [Int32] = []
        var busy = false
        for path in candidates where exists(path) {
          if let fd = lockFile(path) { locked.append(fd) } else { busy = true }
        }
        if !busy {
          for path in [tmpDirectory + "/\(id).body", tmpDirectory + "/\(id).env"] {
            let (result, status) = sys.stat(path)
            if result == 0, let status, now - status.modified >= minimumAge { _ = sys.unlink(path) }
          }
        }
        for fd in locked { _ = sys.close(fd) }
      }
    }
  }

  /// The IDs of the bodies without an envelope in an area, found while the directory is
  /// read (its 200,000 names are never held).
  private func orphanBodies(_ area: QueueArea) throws(QueueError) -> [QueueID] {
    let dir = areaDirectory(area)
    let fd = sys.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
    if fd == -ENOENT { return [] }
    guard fd >= 0 else { throw .system(-fd, .list, dir) }
    defer { _ = sys.close(fd) }
    var orphans: [QueueID] = []
    let result = sys.readDirectory(dir) { name in
      guard name.count > 5, name.suffix(5).elementsEqual(".body".utf8),
        let id = PackedQueueID(bytes: UnsafeRawBufferPointer(rebasing: name.dropLast(5))),
        id.withFileName(".env", { sys.statAt(fd, $0) }).0 != 0
      else { return }
      orphans.append(id.id)
    }
    guard result == 0 || result == -ENOENT else { throw .system(-result, .list, dir) }
    return orphans
  }

  func ids(in dir: String, suffix: String) throws(QueueError) -> [QueueID] {
    let (result, names) = sys.listDirectory(dir)
    if result == -ENOENT { return [] }
    guard result == 0 else { throw .system(-result, .list, dir) }
    return names.compactMap { name in
      name.hasSuffix(suffix) ? try? QueueID(String(name.dropLast(suffix.count))) : nil
    }
  }

  public func purgeFailed(now: Int, maximumAge: Int, admits: (QueueEntry) -> Bool) throws(QueueError) -> [QueueEntry] {
    var removed: [QueueEntry] = []
    // The env is rewritten as the entry moves to failed/, so its time is when it got there:
    // only an entry old enough is read.
    for id in try ids(in: areaDirectory(.failed), suffix: ".env") {
      let (result, status) = sys.stat(envPath(id, .failed))
      guard result == 0, let status, now - status.modified >= maximumAge else { continue }
      guard let entry = try? loadEntry(id, .failed), admits(entry), let lock = try? lockEntry(id, .failed)
      else { continue }
      if (try? removeFiles(id, .failed)) != nil { removed.append(entry) }
      lock.release()
    }
    return removed.sorted { ($0.arrival, $0.id) < ($1.arrival, $1.id) }
  }
}
