#include "compiler/program_cache.hpp"

#include <cstdint>
#include <cstring>

#include "backends/cpu/cpu_backend.hpp"
#include "compiler/disk_cache.hpp"

namespace tessera::compiler {
namespace {

void put(std::string& out, const std::string& s) {
  uint64_t n = s.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out += s;
}

// Reads length-prefixed strings, refusing to run past the end.
struct Reader {
  const std::string& in;
  size_t at = 0;
  bool get(std::string& s) {
    uint64_t n;
    if (in.size() - at < sizeof n) return false;
    std::memcpy(&n, in.data() + at, sizeof n);
    at += sizeof n;
    if (in.size() - at < n) return false;
    s.assign(in, at, size_t(n));
    at += size_t(n);
    return true;
  }
};

}  // namespace

std::string program_cache_key(const std::string& structure, const ir::Target& target, const std::string& device) {
  std::string key = "program|" + cache::build_id() + "|" + target.str();
  if (target.cpu()) key += "|" + backends::host_cpu_description();
  if (!device.empty()) key += "|" + device;
  return key + "\n" + structure;
}

std::string encode_program(const CachedProgram& p) {
  std::string out;
  put(out, std::to_string(p.kernel_names.size()));
  for (const std::string& name : p.kernel_names) put(out, name);
  put(out, p.binary);
  put(out, p.host_function);
  return out;
}

std::optional<CachedProgram> decode_program(const std::string& payload) {
  Reader r{payload};
  CachedProgram p;
  std::string count;
  if (!r.get(count) || count.empty() || count.size() > 6 || count.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  size_t n = std::stoul(count);
  if (n > payload.size() / sizeof(uint64_t)) return std::nullopt;  // each name needs its length
  p.kernel_names.resize(n);
  for (std::string& name : p.kernel_names)
    if (!r.get(name)) return std::nullopt;
  if (!r.get(p.binary) || !r.get(p.host_function) || r.at != payload.size()) return std::nullopt;
  return p;
}

}  // namespace tessera::compiler
