#include "compiler/autotune_cache.hpp"

#include <map>
#include <mutex>

#include "compiler/disk_cache.hpp"

namespace tessera::autotune {
namespace {

std::string full_key(const std::string& key) { return "autotune|" + cache::build_id() + "|" + key; }

// Choices made in this process while the disk cache is off or cannot be written, so a kernel is
// still tuned only once per process and IR regenerated later shows the same knobs.
struct Memory {
  std::mutex mu;
  std::map<std::string, std::string> choices;
};
Memory& memory() {
  static auto* m = new Memory;
  return *m;
}

}  // namespace

std::optional<std::string> lookup(const std::string& key) {
  if (auto hit = cache::load("autotune", full_key(key))) return hit;
  std::lock_guard<std::mutex> lock(memory().mu);
  auto it = memory().choices.find(key);
  if (it == memory().choices.end()) return std::nullopt;
  return it->second;
}

void store(const std::string& key, const std::string& value) {
  uint64_t failures = cache::stats().store_failures;
  cache::store("autotune", full_key(key), value);
  if (cache::enabled() && cache::stats().store_failures == failures) return;
  std::lock_guard<std::mutex> lock(memory().mu);
  memory().choices[key] = value;
}

}  // namespace tessera::autotune
