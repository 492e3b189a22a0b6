// "Value at coordinates" emitter for fused kernels (see value_emitter.hpp).
#include "tilegen/value_emitter.hpp"

#include <algorithm>
#include <functional>

namespace tessera::tilegen {
using namespace ir;

namespace {

// A fused kernel whose index expressions blow up (a value read at very many coordinates)
// should be split by form-kernels rather than compiled slowly.
constexpr size_t kMaxKernelOps = 50000;

int64_t fold(const std::string& op, int64_t a, int64_t b) {
  if (op == "add") return a + b;
  if (op == "sub") return a - b;
  if (op == "mul") return a * b;
  if (op == "div") return a / b;
  if (op == "rem") return a % b;
  if (op == "max") return std::max(a, b);
  return std::min(a, b);
}

}  // namespace

Value* ValueEmitter::i64(int64_t v) {
  Value* c = b_.i64(v);
  constants_[c] = v;
  return c;
}

const int64_t* ValueEmitter::constant_of(Value* v) const {
  auto it = constants_.find(v);
  return it == constants_.end() ? nullptr : &it->second;
}

Value* ValueEmitter::arith(const std::string& op, Value* a, Value* b) {
  const int64_t *ca = constant_of(a), *cb = constant_of(b);
  bool commutes = op == "add" || op == "mul" || op == "max" || op == "min";
  if (ca && cb && !((op == "div" || op == "rem") && *cb == 0)) return i64(fold(op, *ca, *cb));
  if (commutes && ca && !cb) return arith(op, b, a);  // constants on the right
  if (cb) {
    if ((op == "add" || op == "sub") && *cb == 0) return a;
    if ((op == "mul" || op == "div") && *cb == 1) return a;
    if (op == "mul" && *cb == 0) return i64(0);
    if (op == "rem" && *cb == 1) return i64(0);
    if (op == "sub") return arith("add", a, i64(-*cb));
    // (x + k1) + k2 = x + (k1 + k2): offsets reached along different paths stay one value.
    if (op == "add" && a->def && a->def->name == "arith.add" && constant_of(a->def->operands[1]))
      return arith("add", a->def->operands[0], i64(*constant_of(a->def->operands[1]) + *cb));
  }
  if ((op == "max" || op == "min") && a == b) return a;
  auto key = std::make_tuple(op, a, b);
  auto it = shared_.find(key);
  if (it != shared_.end()) return it->second;
  return shared_[key] = b_.arith(op, a, b);
}

Value* ValueEmitter::flatten(const Coords& c, const std::vector<int64_t>& shape) {
  auto it = flat_.find({c, shape});
  if (it != flat_.end()) return it->second;
  Value* off = i64(0);
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] != 1) off = arith("add", off, arith("mul", c[d], i64(stride)));  // size-1 dims: c is 0
    stride *= shape[d];
  }
  return flat_[{c, shape}] = off;
}

ValueAt::Coords ValueEmitter::unflatten(Value* flat, const std::vector<int64_t>& shape) {
  Coords c(shape.size());
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    bool outer = std::any_of(shape.begin(), shape.begin() + long(d), [](int64_t s) { return s != 1; });
    if (shape[d] <= 1)
      c[d] = i64(0);  // size 0: no lane is in range, any coordinate will do
    else
      c[d] = outer ? arith("rem", arith("div", flat, i64(stride)), i64(shape[d])) : arith("div", flat, i64(stride));
    stride *= std::max<int64_t>(shape[d], 1);
  }
  flat_[{c, shape}] = flat;  // flatten(unflatten(f)) is f: identity and reshape reads cost nothing
  return c;
}

Value* ValueEmitter::at(Value* v, const Coords& c) {
  if (int64_t(c.size()) != v->type.rank())
    fail(ErrorCode::Internal, "value emitter: " + std::to_string(c.size()) + " coordinates for " + v->type.str());
  auto key = std::make_pair(v, c);
  auto it = memo_.find(key);
  if (it != memo_.end()) return it->second;
  Value* r = compute(v, c);
  if (b_.block()->ops.size() > kMaxKernelOps)
    fail(ErrorCode::Compile, "fused kernel is too large (a value is read at too many coordinates)",
         v->def ? v->def->loc.str() : "");
  return memo_[key] = r;
}

// A reshape that keeps its leading dims (e.g. [R, P*B] <-> [R, P, B]) maps those coordinates
// unchanged and re-indexes only the rest: no division of lane indices by the row length.
Value* ValueEmitter::reshape_at(const Op& op, const Coords& c) {
  std::vector<int64_t> out = op.result()->type.static_shape(), in = op.operands[0]->type.static_shape();
  size_t keep = 0;
  while (keep < out.size() && keep < in.size() && out[keep] == in[keep]) ++keep;
  if (keep == 0) return nullptr;
  Coords head(c.begin(), c.begin() + long(keep));
  Value* flat = flatten(Coords(c.begin() + long(keep), c.end()), {out.begin() + long(keep), out.end()});
  Coords tail = unflatten(flat, {in.begin() + long(keep), in.end()});
  head.insert(head.end(), tail.begin(), tail.end());
  return at(op.operands[0], head);
}

Value* ValueEmitter::compute(Value* v, const Coords& c) {
  if (auto it = bound_.find(v); it != bound_.end()) return it->second;
  if (v->owner == &region_) {
    Value* off = flatten(c, v->type.static_shape());
    return load(b_, fn_.body.args[size_t(v->index)].get(), off, mask_);
  }
  const Op& op = *v->def;
  const OpInfo* info = lookup_op(op.name);
  if (op.name == "reshape")
    if (Value* r = reshape_at(op, c)) return r;
  if (info && info->lower_at) return info->lower_at(*this, op, c);
  if (!info || !info->lower_elementwise)
    fail(ErrorCode::Compile, "op '" + op.name + "' cannot be part of a fused elementwise kernel", op.loc.str());
  // Elementwise: operands at NumPy-broadcast coordinates (size-1 and missing dims read index 0).
  std::vector<Value*> args;
  for (Value* x : op.operands) {
    std::vector<int64_t> s = x->type.static_shape();
    Coords xc;
    for (size_t d = 0; d < s.size(); ++d) xc.push_back(s[d] == 1 ? i64(0) : c[c.size() - s.size() + d]);
    args.push_back(at(x, xc));
  }
  return emit_elementwise_op(b_, op, args);
}

void erase_dead_ops(Block& block) {
  std::map<const Value*, int> uses;
  walk(block, [&](Op& op) {
    for (Value* v : op.operands) ++uses[v];
  });
  std::function<void(Block&)> sweep = [&](Block& blk) {
    for (auto it = blk.ops.end(); it != blk.ops.begin();) {
      --it;
      Op& op = **it;
      if (op.region) {
        sweep(*op.region);
        continue;
      }
      const OpInfo* info = lookup_op(op.name);
      bool dead = info && info->pure && !op.results.empty() &&
                  std::all_of(op.results.begin(), op.results.end(), [&](auto& r) { return uses[r.get()] == 0; });
      if (!dead) continue;
      for (Value* x : op.operands) --uses[x];
      it = blk.ops.erase(it);
    }
  };
  sweep(block);
}

}  // namespace tessera::tilegen
