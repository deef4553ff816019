// SPDX-License-Identifier: MIT
// Gives back the pages of relocation tables once the dynamic loader has applied them.
// ld.so reads an object's .rela.dyn and .rela.plt when it loads the object (gsendmail
// is linked -z now and OpenSSL is BIND_NOW, so all of theirs at once); afterwards the
// pages stay mapped and count in the resident set for the rest of the process: about
// 440 KB for gsendmail and 500 KB for libcrypto. madvise(MADV_DONTNEED) unmaps them.
// They are clean pages of a read-only file mapping: should anything read them again
// (the lazy binding of a library not linked -z now), they come back from the page
// cache. Only whole pages inside a non-writable PT_LOAD segment are released, never a
// page that also holds code or data.
#define _GNU_SOURCE
#include "CShim.h"

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static uintptr_t gs_release_range(const struct dl_phdr_info *info, uintptr_t start, uintptr_t size) {
  if (start == 0 || size == 0) return 0;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = (start + page - 1) & ~(page - 1);
  uintptr_t hi = (start + size) & ~(page - 1);
  if (hi <= lo) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W)) continue;
    uintptr_t seg_lo = info->dlpi_addr + ph->p_vaddr;
    uintptr_t seg_hi = seg_lo + ph->p_filesz;
    if (lo >= seg_lo && hi <= seg_hi) {
      return madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0 ? hi - lo : 0;
    }
  }
  return 0;
}

static int gs_release_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  uintptr_t *released = data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
    const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    uintptr_t rela = 0, rela_size = 0, plt = 0, plt_size = 0;
    for (; d->d_tag != DT_NULL; d++) {
      switch (d->d_tag) {
      case DT_RELA: rela = d->d_un.d_ptr; break;
      case DT_RELASZ: rela_size = d->d_un.d_val; break;
      case DT_JMPREL: plt = d->d_un.d_ptr; break;
      case DT_PLTRELSZ: plt_size = d->d_un.d_val; break;
      }
    }
    // glibc rewrites these addresses to absolute ones when it loads an object whose
    // dynamic section is writable; otherwise they are relative to the load address.
    if (rela != 0 && rela < info->dlpi_addr) rela += info->dlpi_addr;
    if (plt != 0 && plt < info->dlpi_addr) plt += info->dlpi_addr;
    // .rela.plt usually follows .rela.dyn: release them as one range when they touch.
    if (rela != 0 && plt == rela + rela_size) {
      *released += gs_release_range(info, rela, rela_size + plt_size);
    } else {
      *released += gs_release_range(info, rela, rela_size);
      *released += gs_release_range(info, plt, plt_size);
    }
  }
  return 0;
}

size_t gs_release_relocation_tables(void) {
  uintptr_t released = 0;
  dl_iterate_phdr(gs_release_object, &released);
  return released;
}
