// Autotuning results on disk: key -> the chosen knobs, as text. Entries live in the disk
// cache (kind "autotune", see disk_cache.hpp) with its rules: atomic writes, checked files,
// TESSERA_CACHE=0 turns it off, and a bad file is a miss, never an error.
//
// The key should name what was tuned and where (the kernel's structure, the target and its
// arch); the Tessera build id is added here, so a new build tunes again.
#pragma once
#include <optional>
#include <string>

namespace tessera::autotune {

std::optional<std::string> lookup(const std::string& key);
void store(const std::string& key, const std::string& value);

}  // namespace tessera::autotune
