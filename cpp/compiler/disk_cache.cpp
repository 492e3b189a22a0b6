#include "compiler/disk_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <string_view>

#include "common/log.hpp"
#include "runtime/bytes.hpp"

namespace fs = std::filesystem;

namespace tessera::cache {
namespace {

constexpr char kMagic[8] = {'T', 'S', 'R', 'C', 'A', 'C', 'H', 'E'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8 + 8;
constexpr const char* kSuffix = ".tsc";

std::atomic<uint64_t> hits{0}, misses{0}, rejected{0}, stores{0}, store_failures{0};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

fs::path entry_path(const std::string& kind, const std::string& key) {
  return fs::path(directory()) / kind / (hex64(tessera::bytes::fnv1a(key)) + kSuffix);
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
T get(const std::string& in, size_t at) {
  T v;
  std::memcpy(&v, in.data() + at, sizeof v);
  return v;
}

// The payload of a well-formed file for `key`, or the reason the file is unusable.
std::optional<std::string> parse_file(const std::string& bytes, const std::string& key, std::string& why) {
  if (bytes.size() < kHeaderSize + 8) return why = "truncated header", std::nullopt;
  if (std::memcmp(bytes.data(), kMagic, 8) != 0) return why = "not a Tessera cache file", std::nullopt;
  if (get<uint32_t>(bytes, 8) != kFormatVersion)
    return why = "format version " + std::to_string(get<uint32_t>(bytes, 8)) + ", expected " +
                 std::to_string(kFormatVersion),
           std::nullopt;
  uint64_t key_size = get<uint64_t>(bytes, 16), payload_size = get<uint64_t>(bytes, 24);
  uint64_t body = bytes.size() - kHeaderSize - 8;
  if (key_size > body || payload_size != body - key_size) return why = "sizes do not match the file", std::nullopt;
  if (get<uint64_t>(bytes, bytes.size() - 8) != tessera::bytes::fnv1a(bytes.substr(0, bytes.size() - 8)))
    return why = "checksum mismatch", std::nullopt;
  if (bytes.compare(kHeaderSize, key_size, key) != 0) return why = "written for another key", std::nullopt;
  return bytes.substr(kHeaderSize + key_size, payload_size);
}

// False if there is no file. Anything but a regular file reads as empty (and so is rejected).
bool read_file(const fs::path& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st{};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    out.resize(size_t(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::read(fd, &out[done], out.size() - done);
      if (n <= 0) break;  // an error, or the file shrank: the checks reject what we have
      done += size_t(n);
    }
    out.resize(done);
  }
  ::close(fd);
  return true;
}

// Logs a failure to write under `dir` once per directory: a read-only cache is still useful
// and must not print on every compile.
void store_failed(const fs::path& dir, const std::string& what) {
  ++store_failures;
  static std::mutex mutex;
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(mutex);
  if (warned.insert(dir.string()).second)
    log::write("cache", "cannot write to the cache directory " + dir.string() + " (" + what +
                            "); running without storing compiled code there");
}

bool is_cache_file(const fs::path& p) {
  std::string name = p.filename().string();
  return p.extension() == kSuffix || name.find(std::string(kSuffix) + ".tmp-") != std::string::npos;
}

}  // namespace

std::string directory() {
  std::string dir = env("TESSERA_CACHE_DIR");
  if (!dir.empty()) return dir;
  std::string xdg = env("XDG_CACHE_HOME");
  if (!xdg.empty() && xdg[0] == '/') return xdg + "/tessera";  // the XDG spec ignores relative paths
  std::string home = env("HOME");
  return home.empty() ? "" : home + "/.cache/tessera";
}

bool enabled() {
  std::string v = env("TESSERA_CACHE");
  if (v == "0" || v == "off" || v == "false" || v == "no") return false;
  return !directory().empty();
}

std::optional<std::string> load(const std::string& kind, const std::string& key) {
  if (!enabled()) return std::nullopt;
  fs::path path = entry_path(kind, key);
  std::string bytes;
  if (!read_file(path, bytes)) {
    ++misses;
    log::write("cache", "miss " + kind + " " + path.filename().string());
    return std::nullopt;
  }
  std::string why;
  std::optional<std::string> payload = parse_file(bytes, key, why);
  if (!payload) {
    ++rejected;
    log::write("cache", "ignoring " + path.string() + ": " + why + "; it will be rebuilt");
    return std::nullopt;
  }
  ++hits;
  log::write("cache", "hit " + kind + " " + path.filename().string());
  return payload;
}

void store(const std::string& kind, const std::string& key, const std::string& payload) {
  if (!enabled()) return;
  fs::path path = entry_path(kind, key);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return store_failed(path.parent_path(), ec.message());

  std::string bytes(kMagic, 8);
  put<uint32_t>(bytes, kFormatVersion);
  put<uint32_t>(bytes, 0);
  put<uint64_t>(bytes, key.size());
  put<uint64_t>(bytes, payload.size());
  bytes += key;
  bytes += payload;
  put<uint64_t>(bytes, tessera::bytes::fnv1a(bytes));

  if (std::string why = write_atomically(path, bytes); !why.empty()) return store_failed(path.parent_path(), why);
  ++stores;
  log::write("cache",
             "stored " + kind + " " + path.filename().string() + " (" + std::to_string(bytes.size()) + " bytes)");
}

std::string write_atomically(const std::string& path, const std::string& bytes) {
  // A name no other process or thread uses; rename() then replaces the file atomically.
  static std::atomic<uint64_t> counter{0};
  std::string tmp = path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return std::strerror(errno);
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fclose(f) == 0) && ok;
  std::error_code ec;
  if (ok) fs::rename(tmp, path, ec);
  if (!ok || ec) {
    fs::remove(tmp, ec);
    return ok ? "rename failed" : "write failed";
  }
  return "";
}

std::vector<KindInfo> info() {
  std::vector<KindInfo> out;
  std::error_code ec;
  std::string dir = directory();
  if (dir.empty()) return out;
  for (const auto& sub : fs::directory_iterator(dir, ec)) {
    if (!sub.is_directory(ec)) continue;
    KindInfo k;
    k.kind = sub.path().filename().string();
    for (const auto& f : fs::directory_iterator(sub.path(), ec)) {
      if (f.path().extension() != kSuffix || !f.is_regular_file(ec)) continue;
      ++k.entries;
      k.bytes += int64_t(f.file_size(ec));
    }
    out.push_back(k);
  }
  std::sort(out.begin(), out.end(), [](const KindInfo& a, const KindInfo& b) { return a.kind < b.kind; });
  return out;
}

int64_t clear() {
  int64_t removed = 0;
  std::error_code ec;
  std::string dir = directory();
  if (dir.empty()) return 0;
  for (const auto& sub : fs::directory_iterator(dir, ec)) {
    if (!sub.is_directory(ec)) continue;
    std::vector<fs::path> doomed;
    for (const auto& f : fs::directory_iterator(sub.path(), ec))
      if (is_cache_file(f.path())) doomed.push_back(f.path());
    for (const fs::path& p : doomed) removed += fs::remove(p, ec) ? 1 : 0;
    if (!doomed.empty()) fs::remove(sub.path(), ec);  // only succeeds when nothing else is left in it
  }
  return removed;
}

int64_t prune() {
  int64_t removed = 0;
  std::error_code ec;
  std::string dir = directory();
  if (dir.empty()) return 0;
  const std::string current = "|" + build_id() + "|";  // every key names the build that wrote it
  const auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& sub : fs::directory_iterator(dir, ec)) {
    if (!sub.is_directory(ec)) continue;
    std::vector<fs::path> doomed;
    for (const auto& f : fs::directory_iterator(sub.path(), ec)) {
      const fs::path& p = f.path();
      if (!is_cache_file(p)) continue;
      if (p.extension() != kSuffix) {  // a temporary file
        if (f.last_write_time(ec) < hour_ago) doomed.push_back(p);
        continue;
      }
      std::string bytes;
      bool readable = read_file(p, bytes) && bytes.size() >= kHeaderSize && std::memcmp(bytes.data(), kMagic, 8) == 0 &&
                      get<uint32_t>(bytes, 8) == kFormatVersion;
      uint64_t key_size = readable ? get<uint64_t>(bytes, 16) : 0;
      if (!readable || key_size > bytes.size() - kHeaderSize ||
          std::string_view(bytes).substr(kHeaderSize, key_size).find(current) == std::string_view::npos)
        doomed.push_back(p);
    }
    for (const fs::path& p : doomed) removed += fs::remove(p, ec) ? 1 : 0;
  }
  return removed;
}

Stats stats() { return {hits.load(), misses.load(), rejected.load(), stores.load(), store_failures.load()}; }

}  // namespace tessera::cache
