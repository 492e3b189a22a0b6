// The build id that keys the disk cache: a program compiled by one Tessera binary is never
// loaded by another, even when only a pass changed and the version number did not.
#include <elf.h>
#include <link.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "compiler/disk_cache.hpp"

#ifndef TESSERA_VERSION
#define TESSERA_VERSION "unknown"
#endif

namespace tessera::cache {
namespace {

struct Search {
  uintptr_t address;  // any address inside this module's code
  std::string id;
  std::string path;  // the module's file ("" for the main program)
};

std::string hex(const unsigned char* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

// Reads NT_GNU_BUILD_ID from the PT_NOTE segments of the loaded object containing `address`.
int visit(dl_phdr_info* info, size_t, void* data) {
  auto* s = static_cast<Search*>(data);
  bool mine = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) & ph = info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && s->address >= start && s->address < start + ph.p_memsz) mine = true;
  }
  if (!mine) return 0;
  s->path = info->dlpi_name ? info->dlpi_name : "";
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) & ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    auto* p = reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr);
    const unsigned char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) note;
      std::memcpy(&note, p, sizeof note);
      const unsigned char* name = p + sizeof note;
      const unsigned char* desc = name + ((note.n_namesz + 3) & ~3u);
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0 &&
          desc + note.n_descsz <= end) {
        s->id = hex(desc, note.n_descsz);
        return 1;
      }
      p = desc + ((note.n_descsz + 3) & ~3u);
    }
  }
  return 1;
}

}  // namespace

const std::string& build_id() {
  static const std::string id = [] {
    Search s{reinterpret_cast<uintptr_t>(&visit), {}};
    dl_iterate_phdr(visit, &s);
    std::string out = std::string("tessera ") + TESSERA_VERSION;
    if (!s.id.empty()) return out + " build " + s.id;
    // No build id note (an unusual linker): fall back on the binary's size and time, which
    // still change with every rebuild.
    std::string path = s.path.empty() ? "/proc/self/exe" : s.path;
    struct stat st{};
    if (stat(path.c_str(), &st) == 0) out += " file " + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtime);
    return out + " no-build-id";
  }();
  return id;
}

}  // namespace tessera::cache
