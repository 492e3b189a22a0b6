#include "compiler/program_cache.hpp"

#include "backends/cpu/cpu_backend.hpp"
#include "compiler/disk_cache.hpp"
#include "runtime/bytes.hpp"

namespace tessera::compiler {

std::string program_cache_key(const std::string& structure, const ir::Target& target, const std::string& device) {
  std::string key = "program|" + cache::build_id() + "|" + target.str();
  if (target.cpu()) key += "|" + backends::host_cpu_description();
  if (!device.empty()) key += "|" + device;
  return key + "\n" + structure;
}

std::string encode_program(const CachedProgram& p) {
  bytes::Writer w;
  w.str(std::to_string(p.kernel_names.size()));
  for (const std::string& name : p.kernel_names) w.str(name);
  w.str(p.binary);
  w.str(p.host_function);
  return w.out();
}

std::optional<CachedProgram> decode_program(const std::string& payload) {
  bytes::Reader r(payload);
  CachedProgram p;
  std::string count;
  if (!r.str(count) || count.empty() || count.size() > 6 || count.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  size_t n = std::stoul(count);
  if (n > payload.size() / sizeof(uint64_t)) return std::nullopt;  // each name needs its length
  p.kernel_names.resize(n);
  for (std::string& name : p.kernel_names)
    if (!r.str(name)) return std::nullopt;
  if (!r.str(p.binary) || !r.str(p.host_function) || !r.done()) return std::nullopt;
  return p;
}

}  // namespace tessera::compiler
