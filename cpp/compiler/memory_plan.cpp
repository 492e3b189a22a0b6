// Liveness-based buffer assignment (memory_plan.hpp).
#include "compiler/memory_plan.hpp"

#include <algorithm>
#include <numeric>

namespace tessera::compiler {
namespace {

constexpr int64_t kAlign = 256;

struct Interval {
  int slot;
  int64_t bytes, first, last, offset = -1;
};

int64_t aligned(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// The slot whose buffer `slot` is (views resolved).
int root_of(const std::vector<int>& view_of, int slot) {
  while (slot >= 0 && view_of[size_t(slot)] >= 0) slot = view_of[size_t(slot)];
  return slot;
}

}  // namespace

void plan_memory(Plan& plan) {
  plan.arena_offset.assign(size_t(plan.num_slots), -1);
  plan.arena_bytes = 0;
  if (plan.has_control) return;
  std::vector<int> view_of(size_t(plan.num_slots), -1);
  std::vector<int> alloc_step(size_t(plan.num_slots), -1);
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& s = plan.steps[i];
    if (s.kind == Step::View) view_of[size_t(s.slot)] = s.view_of;
    if (s.kind == Step::Alloc) alloc_step[size_t(s.slot)] = int(i);
  }
  std::vector<int64_t> first(size_t(plan.num_slots), -1), last(size_t(plan.num_slots), -1);
  std::vector<bool> escapes(size_t(plan.num_slots), false);
  for (int slot : plan.output_slots) {
    int r = root_of(view_of, slot);
    if (r >= 0) escapes[size_t(r)] = true;
  }
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& s = plan.steps[i];
    for (int a : s.args) {
      int r = root_of(view_of, a);
      if (r < 0) continue;
      if (s.kind != Step::Launch) escapes[size_t(r)] = true;  // read by a check after the launches
      if (first[size_t(r)] < 0) first[size_t(r)] = int64_t(i);
      last[size_t(r)] = int64_t(i);
    }
  }
  std::vector<Interval> buffers;
  for (int slot = 0; slot < plan.num_slots; ++slot) {
    if (alloc_step[size_t(slot)] < 0 || escapes[size_t(slot)] || first[size_t(slot)] < 0) continue;
    const Step& s = plan.steps[size_t(alloc_step[size_t(slot)])];
    int64_t elems = std::accumulate(s.type.shape.begin(), s.type.shape.end(), int64_t(1), std::multiplies<int64_t>());
    buffers.push_back({slot, aligned(std::max<int64_t>(1, elems * int64_t(dtype_size(s.type.dtype)))),
                       first[size_t(slot)], last[size_t(slot)]});
  }
  std::stable_sort(buffers.begin(), buffers.end(),
                   [](const Interval& a, const Interval& b) { return a.bytes > b.bytes; });
  std::vector<const Interval*> placed;
  for (Interval& b : buffers) {
    std::vector<const Interval*> live;  // placed buffers whose lifetimes overlap b's, by offset
    for (const Interval* o : placed)
      if (o->first <= b.last && b.first <= o->last) live.push_back(o);
    std::sort(live.begin(), live.end(), [](const Interval* x, const Interval* y) { return x->offset < y->offset; });
    int64_t at = 0;
    for (const Interval* o : live) {
      if (at + b.bytes <= o->offset) break;
      at = std::max(at, o->offset + o->bytes);
    }
    b.offset = at;
    placed.push_back(&b);
    plan.arena_offset[size_t(b.slot)] = at;
    plan.arena_bytes = std::max(plan.arena_bytes, at + b.bytes);
  }
}

}  // namespace tessera::compiler
