// The `specialize` pass: one trace with symbolic dims (f32[B,128]) serves many sizes. When a
// call's sizes are known, this rewrites the symbolic Graph IR into the static program the rest
// of the pipeline compiles, without running the user's Python again (docs/design.md,
// "Symbolic dims"). The pass reads the sizes from module attributes `"dim.B" = 7` and removes
// them; tessera.jit calls specialize() with the sizes it bound directly.
#include "passes/specialize.hpp"

#include "ir/builder.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

constexpr const char* kSizePrefix = "dim.";

struct Binder {
  const std::map<std::string, int64_t>& sizes;

  Type bind(const Type& t) const {
    Type out = t;
    for (Dim& d : out.shape) {
      if (d.is_static()) continue;
      auto it = sizes.find(d.sym);
      if (it == sizes.end())
        fail(ErrorCode::Value, "specialize: no size given for symbolic dim " + d.sym + " of " + t.str());
      d = Dim::of(it->second);
    }
    return out;
  }

  void bind(Block& b) const {
    for (auto& a : b.args) a->type = bind(a->type);
    for (auto& op : b.ops) {
      for (auto& r : op->results) r->type = bind(r->type);
      for (auto& [k, v] : op->attrs)
        if (auto* t = std::get_if<Type>(&v)) *t = bind(*t);
      if (op->region) bind(*op->region);
    }
  }
};

// dim_size ops of static operands become constants (their registry decomposition).
void fold_dim_sizes(Block& body) {
  const OpInfo* info = lookup_op("dim_size");
  for (auto it = body.ops.begin(); it != body.ops.end(); ++it) {
    Op& op = **it;
    if (op.name != "dim_size") continue;
    Block scratch;
    Builder b(&scratch, op.loc);
    Value* n = info->decompose(b, op).at(0);  // its operand's type is static by now
    for (auto& p : scratch.ops) body.insert(it, std::move(p));
    replace_all_uses(body, op.result(), n);
  }
  body.ops.remove_if([](const std::unique_ptr<Op>& op) { return op->name == "dim_size"; });
}

}  // namespace

void specialize(Module& m) {
  std::map<std::string, int64_t> sizes;
  for (auto it = m.attrs.begin(); it != m.attrs.end();) {
    if (it->first.rfind(kSizePrefix, 0) != 0) {
      ++it;
      continue;
    }
    auto* n = std::get_if<int64_t>(&it->second);
    if (!n) fail(ErrorCode::Value, "specialize: module attribute '" + it->first + "' must be an integer size");
    sizes[it->first.substr(4)] = *n;
    it = m.attrs.erase(it);
  }
  specialize(m, sizes);
}

void specialize(Module& m, const std::map<std::string, int64_t>& sizes) {
  for (auto& [sym, n] : sizes)
    if (n < 0) fail(ErrorCode::Value, "specialize: size of " + sym + " must not be negative, got " + std::to_string(n));
  Binder binder{sizes};
  for (auto& f : m.funcs) {
    binder.bind(f->body);
    for (Type& t : f->result_types) t = binder.bind(t);
    fold_dim_sizes(f->body);
  }
  verify(m);
}

}  // namespace tessera::passes
