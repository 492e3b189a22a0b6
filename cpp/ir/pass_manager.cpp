// The pass registry and the pipeline runner (see pass_manager.hpp).
#include "ir/pass_manager.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "common/profiler.hpp"
#include "passes/passes.hpp"

namespace tessera::ir {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, PassInfo> passes;
};

Registry& registry() {
  static Registry r;
  return r;
}

void add_pass(const std::string& name, const std::string& description, PassFn fn);

// The built-in passes (passes.def), registered before the first lookup or registration.
void ensure_builtin_passes() {
  static std::once_flag once;
  std::call_once(once, [] {
#define TESSERA_PASS(FN, NAME, DESCRIPTION) add_pass(NAME, DESCRIPTION, passes::FN);
#include "passes/passes.def"
#undef TESSERA_PASS
  });
}

bool valid_pass_name(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
          c == '-'))
      return false;
  return true;
}

std::string known_passes() {
  std::string s;
  for (const PassInfo* p : list_passes()) s += (s.empty() ? "" : ", ") + p->name;
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool env_flag(const char* name, bool dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  return std::string(v) != "0";
}

// Writes <dir>/NN-<what>.tir; a failure is reported on stderr, never fatal.
void dump(const Module& m, const std::string& what) {
  const char* dir = std::getenv("TESSERA_DUMP_IR");
  if (!dir || !*dir) return;
  static std::atomic<int> counter{0};
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%02d-", counter.fetch_add(1));
  std::filesystem::path path = std::filesystem::path(dir) / (prefix + what + ".tir");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::ofstream out(path);
  out << print(m);
  out.close();
  if (!out) std::fprintf(stderr, "tessera: warning: cannot write IR dump %s\n", path.string().c_str());
}

void add_pass(const std::string& name, const std::string& description, PassFn fn) {
  if (!valid_pass_name(name)) fail(ErrorCode::Internal, "invalid pass name '" + name + "'");
  if (!fn) fail(ErrorCode::Internal, "pass '" + name + "' has no function");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (!r.passes.emplace(name, PassInfo{name, description, std::move(fn)}).second)
    fail(ErrorCode::Internal, "pass '" + name + "' is registered twice");
}

}  // namespace

void register_pass(const std::string& name, const std::string& description, PassFn fn) {
  ensure_builtin_passes();  // a pass named like a built-in one is an error here, not later
  add_pass(name, description, std::move(fn));
}

const PassInfo* find_pass(const std::string& name) {
  ensure_builtin_passes();
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.passes.find(name);
  return it == r.passes.end() ? nullptr : &it->second;
}

std::vector<const PassInfo*> list_passes() {
  ensure_builtin_passes();
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<const PassInfo*> out;
  for (const auto& [name, info] : r.passes) out.push_back(&info);
  return out;
}

std::vector<std::string> parse_pipeline(const std::string& pipeline) {
  std::vector<std::string> names;
  if (trim(pipeline).empty()) return names;
  size_t start = 0;
  for (;;) {
    size_t comma = pipeline.find(',', start);
    std::string name = trim(pipeline.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (name.empty()) fail(ErrorCode::Value, "empty pass name in pipeline '" + pipeline + "'");
    if (!find_pass(name)) fail(ErrorCode::Value, "unknown pass '" + name + "' (known passes: " + known_passes() + ")");
    names.push_back(name);
    if (comma == std::string::npos) return names;
    start = comma + 1;
  }
}

void run_pipeline(Module& m, const std::string& pipeline, std::optional<bool> verify_each_opt) {
  std::vector<std::string> names = parse_pipeline(pipeline);
#ifdef NDEBUG
  const bool verify_each = verify_each_opt.value_or(env_flag("TESSERA_VERIFY_EACH", false));
#else
  const bool verify_each = verify_each_opt.value_or(env_flag("TESSERA_VERIFY_EACH", true));
#endif
  dump(m, "input");
  for (const std::string& name : names) {
    {
      profiler::Scope span("pass", name);
      find_pass(name)->run(m);
    }
    dump(m, name);
    if (verify_each && name != "verify") {
      try {
        verify(m);
      } catch (const Error& e) { throw Error(e.code(), "after pass '" + name + "': " + e.message(), e.location()); }
    }
  }
}

}  // namespace tessera::ir
