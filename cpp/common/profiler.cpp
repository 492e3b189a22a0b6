// The profiler's span store (profiler.hpp).
#include "common/profiler.hpp"

#include <chrono>
#include <mutex>

namespace tessera::profiler {
namespace {

std::atomic<bool> g_active{false};

struct Store {
  std::mutex mu;
  std::vector<Span> spans;
};

Store& store() {
  static Store* s = new Store;  // never destroyed: spans may end while the process exits
  return *s;
}

}  // namespace

bool active() { return g_active.load(std::memory_order_relaxed); }

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void start() {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  s.spans.clear();
  g_active.store(true);
}

std::vector<Span> stop() {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  g_active.store(false);
  std::vector<Span> out;
  out.swap(s.spans);
  return out;
}

void add(Span span) {
  if (!active()) return;
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  s.spans.push_back(std::move(span));
}

Scope::Scope(const char* category, std::string name) : on_(active()), category_(category) {
  if (!on_) return;
  name_ = std::move(name);
  begin_ = now_ns();
}

Scope::~Scope() {
  if (!on_) return;
  Span s;
  s.name = std::move(name_);
  s.category = category_;
  s.begin_ns = begin_;
  s.dur_ns = now_ns() - begin_;
  add(std::move(s));
}

}  // namespace tessera::profiler
