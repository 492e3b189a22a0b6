#include "common/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tessera::log {

bool enabled(const char* category) {
  const char* env = std::getenv("TESSERA_LOG");
  if (!env) return false;
  std::string list = env;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    size_t a = list.find_first_not_of(' ', start), b = list.find_last_not_of(' ', end - 1);
    if (a < end && b != std::string::npos && b >= a) {
      std::string name = list.substr(a, b - a + 1);
      if (name == category || name == "all") return true;
    }
    start = end + 1;
  }
  return false;
}

void write(const char* category, const std::string& message) {
  if (!enabled(category)) return;
  // One fprintf call per line, so lines from several threads do not interleave.
  std::fprintf(stderr, "tessera[%s]: %s\n", category, message.c_str());
}

}  // namespace tessera::log
