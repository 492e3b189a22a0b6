#include "compiler/autotune_cache.hpp"

#include "compiler/disk_cache.hpp"

namespace tessera::autotune {
namespace {

std::string full_key(const std::string& key) { return "autotune|" + cache::build_id() + "|" + key; }

}  // namespace

std::optional<std::string> lookup(const std::string& key) { return cache::load("autotune", full_key(key)); }

void store(const std::string& key, const std::string& value) { cache::store("autotune", full_key(key), value); }

}  // namespace tessera::autotune
