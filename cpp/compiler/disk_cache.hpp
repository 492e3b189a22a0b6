// The on-disk cache: compiled code and autotuning results, one file per entry.
//
// Layout: <dir>/<kind>/<16 hex digits: hash of the key>.tsc. dir is TESSERA_CACHE_DIR, else
// $XDG_CACHE_HOME/tessera, else ~/.cache/tessera; kind is a target ("cpu", "nvptx", ...) or
// "autotune". TESSERA_CACHE=0 turns the cache off.
//
// A file holds: magic "TSRCACHE", format version (u32), zero (u32), key size (u64), payload
// size (u64), the key, the payload, then a checksum of everything before it (u64), in host
// byte order (the cache is per machine). The whole key is stored and compared, so a hash
// collision reads as a miss, never as someone else's program. Writers write a temporary file
// in the same directory and rename it, so readers never see half a file. A file that fails a
// check is ignored, logged under TESSERA_LOG=cache and replaced by the next store. No cache
// problem is an error: at worst the cache does nothing.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tessera::cache {

bool enabled();           // false when TESSERA_CACHE is 0/off/false/no or no directory is known
std::string directory();  // where the cache lives, whether or not it exists yet

std::optional<std::string> load(const std::string& kind, const std::string& key);
void store(const std::string& kind, const std::string& key, const std::string& payload);

struct KindInfo {
  std::string kind;
  int64_t entries = 0;
  int64_t bytes = 0;
};
std::vector<KindInfo> info();  // one row per kind directory present, sorted by kind
int64_t clear();               // removes the cache's own files (nothing else); returns how many
// Removes entries no current lookup can hit (written by another Tessera build, or unreadable)
// and temporary files older than an hour (left by a process that died); returns how many.
int64_t prune();

struct Stats {
  uint64_t hits = 0, misses = 0, rejected = 0, stores = 0, store_failures = 0;
};
Stats stats();  // counts for this process, every kind together

// Changes whenever the Tessera binary changes: the version plus the GNU build id of the
// module holding this code (a hash of its contents, written by the linker).
const std::string& build_id();

// Writes `bytes` to a temporary file next to `path` and renames it over `path` (readers see the
// old file or the whole new one); returns "" or why it failed. Cache entries and
// tsrFunctionExport's program files are written so.
std::string write_atomically(const std::string& path, const std::string& bytes);

}  // namespace tessera::cache
