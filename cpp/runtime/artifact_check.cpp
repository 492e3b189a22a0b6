// The checks a program read from a file passes before anything runs it (artifact.hpp): every
// slot a step reads is defined by an earlier step with a known type; buffers fit their arena
// and views their buffers; launches pass each kernel as many arguments as it takes; control-flow
// steps pass their callees exactly the inputs those take and get back the types they return; no
// plan calls itself; collectives are refused (format 1 programs never hold them). The sizes a
// kernel reads are its code's business: program files are code, to be loaded from trusted
// sources only.
#include <map>
#include <set>

#include "runtime/artifact.hpp"

namespace tessera::artifact {
namespace {

struct Checker {
  const Contents& c;
  const std::string& source;
  std::map<std::string, const Plan*> plans;
  std::map<std::string, int32_t> kernels;  // name -> parameter count

  [[noreturn]] void bad(const Plan& p, const std::string& what) const {
    fail(ErrorCode::Value, source + ": malformed plan @" + p.name + ": " + what);
  }

  static TensorType slice0(const TensorType& t) { return {t.dtype, {t.shape.begin() + 1, t.shape.end()}}; }

  const Plan& callee(const Plan& p, const Step& s, size_t i) const {
    if (i >= s.callees.size()) bad(p, s.op + " names too few functions");
    auto it = plans.find(s.callees[i]);
    if (it == plans.end()) bad(p, s.op + " calls @" + s.callees[i] + ", which is not in the file");
    return *it->second;
  }

  void expect_call(const Plan& p, const Plan& f, const std::vector<TensorType>& in,
                   const std::vector<TensorType>& out) const {
    if (f.input_types != in) bad(p, "a call of @" + f.name + " does not pass the inputs it takes");
    if (f.output_types != out) bad(p, "a call of @" + f.name + " does not return what the step expects");
  }

  void check_control(const Plan& p, const Step& s, const std::vector<TensorType>& args) const {
    const size_t n = args.size();
    if (s.n_carry < 0 || s.n_xs < 0 || size_t(s.n_carry) + size_t(s.n_xs) > n) bad(p, "bad carry counts");
    const auto carry = std::vector<TensorType>(args.begin(), args.begin() + s.n_carry);
    const TensorType flag{DType::Bool, {}};
    if (s.op == "cond") {
      if (n < 1 || !(args[0] == flag)) bad(p, "cond without its predicate");
      std::vector<TensorType> in(args.begin() + 1, args.end());
      expect_call(p, callee(p, s, 0), in, s.result_types);
      expect_call(p, callee(p, s, 1), in, s.result_types);
    } else if (s.op == "while_loop") {
      expect_call(p, callee(p, s, 0), args, {flag});
      expect_call(p, callee(p, s, 1), args, carry);
      if (s.result_types != carry) bad(p, "while_loop's results are not its carry");
    } else if (s.op == "scan") {
      std::vector<TensorType> in = carry, out = carry;
      for (int64_t i = 0; i < s.n_xs; ++i) {
        const TensorType& x = args[size_t(s.n_carry + i)];
        if (x.shape.empty() || x.shape[0] < s.length || s.length < 0) bad(p, "scan runs past its xs");
        in.push_back(slice0(x));
      }
      in.insert(in.end(), args.begin() + s.n_carry + s.n_xs, args.end());
      if (s.result_types.size() < size_t(s.n_carry)) bad(p, "scan has fewer results than carries");
      for (size_t i = size_t(s.n_carry); i < s.result_types.size(); ++i) {
        const TensorType& y = s.result_types[i];
        if (y.shape.empty() || y.shape[0] != s.length) bad(p, "scan's stacked outputs do not match its length");
        out.push_back(slice0(y));
      }
      for (size_t i = 0; i < size_t(s.n_carry); ++i)
        if (!(s.result_types[i] == carry[i])) bad(p, "scan's results are not its carry");
      expect_call(p, callee(p, s, 0), in, out);
    } else {
      bad(p, "unknown control-flow op '" + s.op + "'");
    }
  }

  void check_plan(const Plan& p) const {
    if (p.num_slots < int(p.input_types.size()) || p.arena_offset.size() != size_t(p.num_slots) || p.arena_bytes < 0)
      bad(p, "slot or arena counts do not match");
    std::vector<const TensorType*> type(size_t(p.num_slots), nullptr);
    std::vector<TensorType> views;  // a view's type (its base's dtype, its own shape)
    views.reserve(p.steps.size() + p.input_types.size());
    for (size_t i = 0; i < p.input_types.size(); ++i) type[i] = &p.input_types[i];
    auto read = [&](int slot) -> const TensorType& {
      if (slot < 0 || slot >= p.num_slots || !type[size_t(slot)]) bad(p, "a step reads an undefined slot");
      return *type[size_t(slot)];
    };
    auto define = [&](int slot, const TensorType* t) {
      if (slot < 0 || slot >= p.num_slots || type[size_t(slot)]) bad(p, "a step writes a slot twice or out of range");
      type[size_t(slot)] = t;
    };
    for (const Step& s : p.steps) {
      std::vector<TensorType> args;
      for (int a : s.args) args.push_back(read(a));
      switch (s.kind) {
        case Step::Alloc: {
          define(s.slot, &s.type);
          int64_t at = p.arena_offset[size_t(s.slot)], n = s.type.bytes();
          if (n == INT64_MAX || (at >= 0 && (at % 16 || at > p.arena_bytes - n))) bad(p, "a buffer outside its arena");
          break;
        }
        case Step::View: {
          const TensorType& base = read(s.view_of);
          views.push_back({base.dtype, s.type.shape});
          if (views.back().bytes() > base.bytes()) bad(p, "a view larger than its buffer");
          define(s.slot, &views.back());
          break;
        }
        case Step::Launch: {
          auto k = kernels.find(s.kernel_name);
          if (k == kernels.end()) bad(p, "kernel " + s.kernel_name + " is not in the file");
          if (s.tensor_maps.size() % 11) bad(p, "a TMA descriptor of the wrong length");
          if (size_t(k->second) != s.args.size())  // TMA descriptors follow as parameters of their own
            bad(p, "kernel " + s.kernel_name + " takes " + std::to_string(k->second) + " buffers, its launch passes " +
                       std::to_string(s.args.size()));
          for (size_t m = 0; m < s.tensor_maps.size(); m += 11)
            if (s.tensor_maps[m] < 0 || size_t(s.tensor_maps[m]) >= s.args.size())
              bad(p, "a TMA descriptor names no operand");
          break;
        }
        case Step::Assert:
          if (args.size() != 1 || args[0].dtype != DType::Bool || args[0].bytes() < 1)
            bad(p, "an assert without its flag");
          break;
        case Step::Print: break;
        case Step::Control:
          if (s.results.size() != s.result_types.size()) bad(p, "results and their types differ in number");
          check_control(p, s, args);
          for (size_t i = 0; i < s.results.size(); ++i) define(s.results[i], &s.result_types[i]);
          break;
        case Step::Collective: bad(p, "collectives are not in format 1 programs");
      }
    }
    if (p.output_slots.size() != p.output_types.size()) bad(p, "output types do not match the outputs");
    for (size_t i = 0; i < p.output_slots.size(); ++i)
      if (!(read(p.output_slots[i]) == p.output_types[i])) bad(p, "an output's type differs from its slot's");
  }

  // No plan may call itself, directly or through others (the interpreter would recurse forever).
  void check_acyclic(const Plan& p, std::set<std::string>& open, std::set<std::string>& done) const {
    if (done.count(p.name)) return;
    if (!open.insert(p.name).second) bad(p, "it calls itself");
    for (const Step& s : p.steps)
      for (size_t i = 0; i < s.callees.size(); ++i) check_acyclic(callee(p, s, i), open, done);
    open.erase(p.name);
    done.insert(p.name);
  }
};

}  // namespace

void check_program(const Contents& c, const std::string& source) {
  Checker k{c, source, {}, {}};
  for (const Plan& p : c.plans)
    if (!k.plans.emplace(p.name, &p).second) fail(ErrorCode::Value, source + ": malformed: two plans @" + p.name);
  for (const KernelImage& img : c.images)
    for (size_t i = 0; i < img.kernel_names.size(); ++i) k.kernels[img.kernel_names[i]] = img.kernel_params[i];
  for (const Plan& p : c.plans) k.check_plan(p);
  std::set<std::string> open, done;
  k.check_acyclic(c.plans.front(), open, done);
}

}  // namespace tessera::artifact
