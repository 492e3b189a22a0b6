// Graph IR -> Schedule IR.
//
// Walks each function in program order and groups consecutive ops into kernels:
//   - elementwise: element-wise and data-movement ops, one pass over memory iterating over the
//     shape of its outputs; members may read each other at other shapes (value_emitter.hpp
//     maps the coordinates).
//   - rowwise: reductions over the innermost axis of one shape S, the element-wise ops before
//     them (a prologue, computed on load) and after them (an epilogue over the row or per
//     row), e.g. a whole softmax or layernorm. row_fusion.hpp says what may join; a kernel
//     output must be a row or one value per row, else the op producing it is moved out and
//     the function is grouped again.
//   - reduce: a reduction over another axis, with the element-wise ops before it as a prologue
//     and those after it over its result's shape as an epilogue (e.g. split-k's sum + bias).
//   - matmul: a contraction; the CPU's packed matmul also takes the element-wise ops after it
//     that compute over its shape (bias, activation, residual, cast) as an epilogue.
//   - scatter, sort, scan, linalg (factorizations, triangular solves): kernels of their own.
// Each kernel but the first records in `why_split` why it did not join the kernel before it
// (fn.explain() shows it). Constants are not kernel inputs: each kernel that uses one gets its
// own copy, so they cost no memory traffic. Knobs (lanes, tile sizes) are chosen for the
// module's target; with TESSERA_AUTOTUNE=1 the compiler measures some of them (compiler/autotune.hpp).
#include <algorithm>
#include <map>
#include <set>

#include "ir/builder.hpp"
#include "ir/control_flow.hpp"
#include "ir/ops.hpp"
#include "ir/target.hpp"
#include "passes/lowering.hpp"
#include "passes/passes.hpp"
#include "passes/row_fusion.hpp"
#include "tilegen/matmul_mma.hpp"
#include "tilegen/tilegen.hpp"

namespace tessera::passes {
using namespace ir;

namespace {

int64_t pow2_at_least(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

const char* kernel_kind(const Op& op) {
  const OpInfo* info = lookup_op(op.name);
  if (!info) fail(ErrorCode::Compile, "form-kernels: unknown op '" + op.name + "'", op.loc.str());
  if (op.name == "scatter_add" || op.name == "scatter") return "scatter";  // many-to-one: not per output element
  if (op.name == "argsort") return "sort";
  if (is_scan(op.name)) return "scan";
  if (tilegen::is_linalg_kernel(op.name)) return "linalg";
  // kept by decompose only for flash kernels (tilegen/attention.cpp)
  if (op.name.rfind("attention", 0) == 0) return "attention";
  switch (info->cls) {
    case OpClass::ElementwiseUnary:
    case OpClass::ElementwiseBinary:
    case OpClass::DataMovement: return "elementwise";
    case OpClass::Reduction: return "reduce";
    case OpClass::Contraction: return "matmul";
    default: return nullptr;
  }
}

// NVIDIA matmuls that run as one block-GEMM op per program instance (tilegen/matmul_mma.cpp,
// tilegen/matmul_simt.cpp): bf16/f16 on tensor cores, f32 on CUDA cores; sm_80 and newer (older
// GPUs keep the one-thread-per-element matmul kernel).
bool gpu_block_gemm(const Op& op, const Target& target) {
  if (!target.nvptx() || !target.cp_async || op.name != "matmul") return false;  // block GEMMs copy with cp.async
  DType a = op.operands[0]->type.dtype;
  if (op.operands[1]->type.dtype != a) return false;
  return a == DType::BF16 || a == DType::F16 || (a == DType::F32 && op.result()->type.dtype == a);
}

AttrMap knobs(const std::string& kind, const Op& root, const Target& target) {
  bool gpu = target.gpu();
  if (kind == "elementwise" && !gpu) {
    AttrMap a{{"kind", kind}, {"lanes", int64_t(1024)}};
    // Rows of 8..4096 elements: row mode (tilegen/elementwise.cpp), about 1024 elements per instance.
    const Type& t = root.result()->type;
    if (t.is_tensor() && t.rank() >= 2 && t.has_static_shape() && t.shape.back().size >= 8 &&
        t.shape.back().size <= 4096)
      a["rows"] = std::max<int64_t>(1, 1024 / t.shape.back().size);
    return a;
  }
  if (kind == "elementwise" || kind == "scatter") return {{"kind", kind}, {"lanes", int64_t(gpu ? 256 : 1024)}};
  if (kind == "sort") return {{"kind", kind}, {"lanes", int64_t(256)}};             // compare-exchange pairs per step
  if (kind == "scan") return {{"kind", kind}, {"lanes", int64_t(gpu ? 128 : 64)}};  // rows walked side by side
  if (kind == "linalg")  // lanes along a row of the result, the kernel's workspace: up to 64
    return {{"kind", kind},
            {"lanes", std::clamp<int64_t>(pow2_at_least(root.result()->type.static_shape().back()), 8, 64)}};
  // tile = [query rows, K/V rows, K/V stages], 16 query rows per warp (tilegen/attention.cpp);
  if (kind == "attention") {
    // fastest measured on an H100 (bench/results/2026-11-25-h100-attention.md)
    bool d128 = root.operands[0]->type.shape.back().size == 128;
    // [own rows (16 per warp), streamed rows per tile, stages]: no spills at D = 128
    if (root.name == "attention_grad") {
      bool dq = root.str_attr("wrt") == "q";
      return {
          {"kind", kind}, {"lanes", int64_t(dq ? 128 : 256)}, {"tile", dq ? IntList{64, 64, 2} : IntList{128, 32, 2}}};
    }
    return {{"kind", kind},
            {"lanes", int64_t(d128 ? 256 : 128)},
            {"tile", d128 ? IntList{128, 64, 3} : IntList{64, 64, 3}}};
  }
  if (kind == "matmul") {
    IntList tile = gpu ? IntList{16, 16} : IntList{16, 64};
    if (gpu_block_gemm(root, target)) {  // bf16/f16: 128x128x32 tensor-core tiles; f32: 128x128x16 on CUDA cores
      bool f32 = root.operands[0]->type.dtype == DType::F32;
      if (f32) {  // precision = "tf32": TF32 tensor cores (sm_80+, as every block GEMM)
        AttrMap k = {{"kind", kind}, {"lanes", int64_t(256)}, {"stages", int64_t(2)}, {"tile", IntList{128, 128, 16}}};
        if (root.has_attr("precision") && root.str_attr("precision") == "tf32") k["mma"] = std::string("tf32");
        return k;
      }
      return {{"kind", kind}, {"lanes", int64_t(256)}, {"tile", IntList{128, 128, 32}}};
    }
    return {{"kind", kind}, {"lanes", tile[0] * tile[1]}, {"tile", tile}};
  }
  const Type& in = root.operands[0]->type;
  int64_t axis = normalize_axis(root.name, root.int_attr("axis"), in.rank());
  int64_t extent = in.shape[size_t(axis)].is_static() ? in.shape[size_t(axis)].size : 1024;
  // GPUs: one lane (thread) per element of a row, up to a block; at least a warp. CPU
  // row-wise kernels: the whole row as one tile up to kRowTile elements (no mask, each value
  // computed once, lanes combined pairwise); longer rows about 16 elements per lane before
  // the pairwise combine (as accurate as NumPy's pairwise sum; split-reductions cuts rows
  // longer than 16384 into blocks).
  constexpr int64_t kRowTile = 8192;
  int64_t gpu_max = target.nvptx() && kind == "rowwise" ? 8192 : 1024;  // nvptx: lanes are not threads
  int64_t lanes = gpu                  ? std::clamp<int64_t>(pow2_at_least(extent), 32, gpu_max)
                  : kind != "rowwise"  ? std::clamp<int64_t>(pow2_at_least(extent), 16, 1024)
                  : extent <= kRowTile ? std::max<int64_t>(extent, 1)
                                       : std::clamp<int64_t>(pow2_at_least((extent + 15) / 16), 16, 1024);
  return {{"kind", kind}, {"lanes", lanes}};
}

// NVIDIA element-wise and row-wise kernels: each thread owns `vector` consecutive elements
// (16 bytes of the widest operand, so loads are ld.global.v4) in `lanes / (threads * vector)`
// chunks. Element-wise blocks are 256 threads with two chunks each (32 bytes of f32 per
// thread). A row of up to 8192 elements is one tile (read once, kept in registers), 16
// elements per thread in blocks of up to 512 threads: measured on an H100, fewer elements per
// thread leave too few bytes in flight per SM (a layernorm of 4096 bf16 rows with 512 threads
// ran at 1.6 TB/s, with 256 at 2.1), and more cost registers and occupancy.
void add_nvptx_vector_knobs(AttrMap& attrs, const std::string& kind, const std::vector<Value*>& io) {
  if (kind != "elementwise" && kind != "rowwise") return;
  size_t widest = 1;
  for (Value* v : io) widest = std::max(widest, dtype_size(v->type.dtype));
  int64_t vec = std::min<int64_t>(8, int64_t(16 / widest));
  int64_t lanes = std::get<int64_t>(attrs.at("lanes"));
  int64_t threads = 256;
  if (kind == "elementwise") {
    lanes = threads * vec * 2;
  } else {
    threads = std::clamp<int64_t>(lanes / 16, std::min<int64_t>(32, lanes / vec), 512);
  }
  attrs["lanes"] = lanes;
  attrs["vector"] = vec;
  attrs["threads"] = threads;
}

struct Group {
  std::vector<Op*> ops;
  std::string kind;
  std::vector<int64_t> rows;  // rowwise: the reductions' operand shape
  std::string why;            // why the group did not join the one before it
  Target target;
};

// The reduction of a reduce group: after its prologue, before its epilogue.
const Op* reduction_of(const Group& g) {
  for (const Op* op : g.ops)
    if (kernel_kind(*op) == std::string("reduce")) return op;
  fail(ErrorCode::Internal, "form-kernels: a reduce group without its reduction");
}

// Contractions whose kernel computes element-wise ops after the product: the CPU's packed
// matmul (tilegen/matmul_packed.cpp) and NVIDIA's block GEMMs of matrices (the epilogue region of
// tile.mma_sync / tile.wgmma_gemm / tile.fma_gemm).
bool takes_epilogue(const Op& op, const Target& target) {
  return op.name == "sched.packed_matmul" ||
         (gpu_block_gemm(op, target) && op.operands[0]->type.rank() >= 2 && op.operands[1]->type.rank() >= 2);
}

// Values of `ops[0..end)` used outside those ops (later ops of the function, or its return).
std::vector<Value*> group_outputs(const Block& body, const std::vector<Op*>& ops, size_t end) {
  std::vector<Value*> outputs;
  for (size_t i = 0; i < end; ++i)
    for (auto& r : ops[i]->results) {
      int inside = 0;
      for (size_t j = 0; j < end; ++j)
        for (Value* u : ops[j]->operands) inside += (u == r.get());
      if (count_uses(body, r.get()) > inside) outputs.push_back(r.get());
    }
  return outputs;
}

// An elementwise group iterates over the shape of its last op; members may read each other
// at other shapes (a transpose, a slice, a broadcast operand), but every value the group
// produces for others must have that shape. Cuts the group after the last member that breaks
// this, and checks the front part the same way.
void split_by_output_shape(const Block& body, const Group& g, std::vector<Group>& out) {
  if (g.kind != "elementwise") {
    out.push_back(g);
    return;
  }
  std::vector<Group> pieces;  // back to front
  for (size_t end = g.ops.size(); end > 0;) {
    const auto& space = g.ops[end - 1]->result()->type.shape;
    size_t cut = 0;
    for (Value* v : group_outputs(body, g.ops, end))
      if (v->type.shape != space)
        cut = std::max(cut, size_t(std::find(g.ops.begin(), g.ops.end(), v->def) - g.ops.begin()) + 1);
    Group piece{{g.ops.begin() + long(cut), g.ops.begin() + long(end)}, g.kind, {}, g.why, g.target};
    if (cut > 0)
      piece.why =
          g.ops[cut - 1]->name + " result " + g.ops[cut - 1]->result()->type.str() +
          " is used by later kernels, so the element-wise kernel producing it iterates over its shape and ends there";
    pieces.push_back(piece);
    end = cut;
  }
  out.insert(out.end(), pieces.rbegin(), pieces.rend());
}

// Builds the sched.kernel for `group` before `pos` in `body` and rewires later uses.
void emit_kernel(Function& fn, const Group& group, const Target& target) {
  Block& body = fn.body;
  std::set<Op*> members(group.ops.begin(), group.ops.end());
  std::vector<Value*> inputs;
  std::vector<Op*> constants;
  for (Op* op : group.ops)
    for (Value* v : op->operands) {
      if (v->def && members.count(v->def)) continue;
      if (v->def && v->def->name == "constant") {
        if (std::find(constants.begin(), constants.end(), v->def) == constants.end()) constants.push_back(v->def);
        continue;
      }
      if (std::find(inputs.begin(), inputs.end(), v) == inputs.end()) inputs.push_back(v);
    }
  std::vector<Value*> outputs = group_outputs(body, group.ops, group.ops.size());

  auto kernel = std::make_unique<Op>();
  kernel->name = "sched.kernel";
  kernel->operands = inputs;
  const Op* root = group.ops.back();
  if (group.kind == "rowwise")
    root = *std::find_if(group.ops.begin(), group.ops.end(), [](const Op* o) { return is_row_reduction(*o); });
  if (group.kind == "matmul") root = group.ops.front();    // the contraction, before its epilogue
  if (group.kind == "reduce") root = reduction_of(group);  // between its prologue and epilogue
  kernel->attrs = knobs(group.kind, *root, target);
  if (target.nvptx()) {
    std::vector<Value*> io = inputs;
    io.insert(io.end(), outputs.begin(), outputs.end());
    add_nvptx_vector_knobs(kernel->attrs, group.kind, io);
  }
  if (!group.why.empty()) kernel->attrs["why_split"] = group.why;
  kernel->loc = group.ops.back()->loc;
  Block* region = kernel->add_region();
  std::map<Value*, Value*> map;
  for (Value* v : inputs) map[v] = region->add_arg(v->type);
  for (Op* c : constants) {
    Op* copy = region->append(clone_op(*c, map));
    map[c->result()] = copy->result();
  }
  for (Op* op : group.ops) {
    Op* copy = region->append(clone_op(*op, map));
    for (size_t i = 0; i < op->results.size(); ++i) map[op->result(int(i))] = copy->result(int(i));
  }
  std::vector<Value*> yielded;
  for (Value* v : outputs) yielded.push_back(map[v]);
  region->append(Op::make("sched.yield", yielded, {}, {}, kernel->loc));
  for (Value* v : outputs) {
    auto r = std::make_unique<Value>();
    r->type = v->type;
    r->def = kernel.get();
    r->index = int(kernel->results.size());
    kernel->results.push_back(std::move(r));
  }

  // Insert the kernel where the group's last op was, rewire uses, then drop the group.
  auto pos = std::find_if(body.ops.begin(), body.ops.end(), [&](auto& o) { return o.get() == group.ops.back(); });
  Op* k = body.insert(std::next(pos), std::move(kernel));
  for (size_t i = 0; i < outputs.size(); ++i) replace_all_uses(body, outputs[i], k->result(int(i)));
  body.ops.remove_if([&](auto& o) { return members.count(o.get()) != 0; });
}

bool is_host_step(const Op& op) { return is_control_flow(op) || is_collective(op); }

// Whether host code reads `v` as a buffer: the return, a control-flow op or an rt.assert.
bool read_by_host(const Function& fn, const Value* v) {
  for (const auto& op : fn.body.ops)
    if (op->name == "return" || op->name == "rt.assert" || op->name == "rt.print" || is_host_step(*op))
      if (std::find(op->operands.begin(), op->operands.end(), v) != op->operands.end()) return true;
  return false;
}

// Why `op` (of kind `kind`) starts a kernel after the group `prev`.
std::string why_new(const Op& op, const std::string& kind, const Group& prev) {
  if (kind == "matmul") return op.name + ": contractions are kernels of their own";
  if (kind == "scatter") return op.name + ": many-to-one updates are kernels of their own";
  if (kind == "sort" || kind == "scan") return op.name + ": sorts and scans are kernels of their own";
  if (kind == "reduce")
    return op.name + " over axis " + std::to_string(op.int_attr("axis")) + " of " + op.operands[0]->type.str() +
           ": reductions over other axes than the innermost take a prologue only (one lane walks the axis per output "
           "element)";
  if (prev.kind == "matmul" && takes_epilogue(*prev.ops.front(), prev.target))
    return op.name + ": only element-wise ops over the product's shape that use it join a matmul's epilogue";
  if (prev.kind == "matmul")
    return op.name +
           ": follows a contraction whose kernel takes no epilogue (only the CPU's packed matmul and NVIDIA's "
           "block GEMMs of matrices do)";
  if (prev.kind == "scatter" || prev.kind == "sort" || prev.kind == "scan")
    return op.name + ": follows a " + prev.kind + ", a kernel of its own";
  if (prev.kind == "reduce")
    return op.name + ": only element-wise ops over the result's shape that use it join a reduction's epilogue";
  return op.name + ": starts a new kernel";
}

// One flash kernel computes the attention forward and its lse, or dk and dv (the same scores
// and products): the second op joins the first's kernel (match-attention placed the lse
// right after its forward).
bool joins_attention_kernel(const Op& op, const Group& g) {
  const Op& root = *g.ops.front();
  if (g.ops.size() != 1 || op.operands.size() < 2 || root.operands[0] != op.operands[0] ||
      root.operands[1] != op.operands[1] || root.bool_attr("causal", false) != op.bool_attr("causal", false) ||
      attention_scale(root) != attention_scale(op))
    return false;
  if (root.name == "attention") return op.name == "attention_lse";
  if (root.name != "attention_grad" || op.name != "attention_grad" || root.operands != op.operands) return false;
  std::string a = root.str_attr("wrt"), b = op.str_attr("wrt");
  return a != b && a != "q" && b != "q";
}

// An element-wise op joins the epilogue of a matmul `g` that takes one when it computes over
// the product's shape from the product or other epilogue values: the kernel evaluates it per
// element of C while C is in cache (CPU) or registers (GPU). Movement ops would read C at
// other coordinates, which those kernels do not have, so they start a new kernel.
//
// So does an op that does not use them yet but whose every user is such an op or feeds one in
// turn (at most kFeedDepth ops deep): a derivative computed from a saved activation, then
// multiplied by the product (gelu's backward after the GEMM of the incoming gradient). The
// epilogue computes it per element instead of a kernel writing it and the next reading it.
constexpr int kFeedDepth = 12;

bool elementwise_over(const Op& op, const Group& g) {
  const OpInfo* info = lookup_op(op.name);
  if (!info || (info->cls != OpClass::ElementwiseUnary && info->cls != OpClass::ElementwiseBinary)) return false;
  return op.result()->type.shape == g.ops.front()->result()->type.shape;
}

bool uses_group(const Op& op, const Group& g) {
  return std::any_of(op.operands.begin(), op.operands.end(), [&](const Value* v) {
    return v->def && std::find(g.ops.begin(), g.ops.end(), v->def) != g.ops.end();
  });
}

// `known`: the answer for ops already asked about (users shared by several feeders).
bool feeds_epilogue(const Block& body, const Op& op, const Group& g, int depth, std::map<const Op*, bool>& known) {
  if (depth > kFeedDepth) return false;
  if (auto it = known.find(&op); it != known.end()) return it->second;
  bool used = false, feeds = true;
  for (const auto& user : body.ops) {
    if (std::find(user->operands.begin(), user->operands.end(), op.result()) == user->operands.end()) continue;
    used = true;
    if (!elementwise_over(*user, g) || (!uses_group(*user, g) && !feeds_epilogue(body, *user, g, depth + 1, known))) {
      feeds = false;
      break;
    }
  }
  return known[&op] = used && feeds;
}

bool joins_matmul_epilogue(const Block& body, const Op& op, const Group& g) {
  if (!takes_epilogue(*g.ops.front(), g.target) || !elementwise_over(op, g)) return false;
  std::map<const Op*, bool> known;
  return uses_group(op, g) || feeds_epilogue(body, op, g, 0, known);
}

// An element-wise op joins the epilogue of the reduce group `g` when it computes over the
// reduction's result shape from the reduction or other epilogue values: the kernel's lane per
// output element evaluates it after walking the axis.
bool joins_reduce_epilogue(const Op& op, const Group& g) {
  const OpInfo* info = lookup_op(op.name);
  if (!info || (info->cls != OpClass::ElementwiseUnary && info->cls != OpClass::ElementwiseBinary)) return false;
  const Op* red = reduction_of(g);
  if (op.result()->type.shape != red->result()->type.shape) return false;
  auto after = std::find(g.ops.begin(), g.ops.end(), red);
  return std::any_of(op.operands.begin(), op.operands.end(),
                     [&](const Value* v) { return v->def && std::find(after, g.ops.end(), v->def) != g.ops.end(); });
}

// Whether every user of `v` is a contraction, or a movement op whose users are in turn (a
// transpose feeding a weight gradient's GEMM), looking at most `depth` ops deep.
bool only_contractions_read(const Block& body, const Value* v, int depth) {
  bool used = false;
  for (const auto& user : body.ops) {
    if (std::find(user->operands.begin(), user->operands.end(), v) == user->operands.end()) continue;
    const OpInfo* info = lookup_op(user->name);
    bool ok = info && (info->cls == OpClass::Contraction ||
                       (info->cls == OpClass::DataMovement && depth > 0 && user->results.size() == 1 &&
                        only_contractions_read(body, user->result(), depth - 1)));
    if (!ok) return false;
    used = true;
  }
  return used;
}

// A reshape of a value of the elementwise group `g` that only contractions read (directly or
// through movement ops): the group computes the unreshaped value (iterating its own, finer
// shape, e.g. im2col windows with the output column innermost) and the reshape becomes a view
// (lower-to-tile's rt.view).
bool trailing_view(const Block& body, const Op& op, const Group& g) {
  if (!keeps_row_major_order(op) || !op.operands[0]->def || !op.operands[0]->type.has_static_shape()) return false;
  if (std::find(g.ops.begin(), g.ops.end(), op.operands[0]->def) == g.ops.end()) return false;
  return only_contractions_read(body, op.result(), 3);
}

// Groups the function's ops in program order; ops in `no_row` never join row-wise kernels.
// `one_reduction`: a row-wise kernel holds one reduction (SPIR-V: LLVM 22's structurizer
// emits invalid control flow for two tile.reduce in one kernel).
std::vector<Group> group_ops(Function& fn, const std::set<const Op*>& no_row, const Target& target) {
  const bool one_reduction = target.kind == TargetKind::Spirv;
  std::vector<Group> groups;
  Group open;
  open.target = target;
  std::set<const Value*> row_dependent;  // of the open rowwise group
  auto close = [&] {
    if (!open.ops.empty()) groups.push_back(open);
    open = Group{};
    open.target = target;
    row_dependent.clear();
  };
  // Why `op` starts a kernel when no fusion rule was tried (empty for the first kernel).
  auto why_first = [&](const Op* op, const std::string& kind) -> std::string {
    const Group* prev = !open.ops.empty() ? &open : groups.empty() ? nullptr : &groups.back();
    return prev ? why_new(*op, kind, *prev) : "";
  };
  auto start = [&](Op* op, const std::string& kind, const std::string& why) {
    close();
    open = Group{{op}, kind, {}, why, target};
    if (kind == "rowwise") {
      open.rows = row_shape(*op);
      row_dependent.insert(op->result());
    }
  };
  for (auto& op_ptr : fn.body.ops) {
    Op* op = op_ptr.get();
    if (op->name == "return" || op->name == "rt.assert" || op->name == "rt.print") continue;
    if (is_host_step(*op)) {  // control flow and collectives run on the host: kernels before them end there
      close();
      continue;
    }
    // Constants are copied into the kernels that use them, unless host code reads one.
    if (op->name == "constant" && !read_by_host(fn, op->result())) continue;
    const char* k = kernel_kind(*op);
    if (!k) fail(ErrorCode::Compile, "form-kernels: op '" + op->name + "' cannot appear in Graph IR", op->loc.str());
    std::string kind = k;
    if (kind == "reduce" && is_row_reduction(*op)) kind = "rowwise";
    if (no_row.count(op) && open.kind == "rowwise") {
      bool shares = std::any_of(op->operands.begin(), op->operands.end(), [&](Value* v) {
        return v->def && std::find(open.ops.begin(), open.ops.end(), v->def) != open.ops.end();
      });
      std::string what = op->name + " result " + op->result()->type.str() + " is for later kernels";
      start(op, kind == "rowwise" ? kind : "elementwise",
            shares ? what + " but is neither a row nor one value per row of the row-wise kernel (rows " +
                         shape_text(open.rows) + ")"
                   : what + " and shares no values with the row-wise kernel before it");
      if (kind != "elementwise" && kind != "rowwise") close();
      continue;
    }
    if (open.kind == "rowwise" && (kind == "elementwise" || kind == "rowwise")) {
      std::string blocker = row_join_blocker(*op, open.rows, row_dependent);
      if (blocker.empty() && kind == "rowwise" && one_reduction)
        blocker = op->name + ": SPIR-V kernels hold one reduction each (LLVM's SPIR-V structurizer rejects two)";
      if (blocker.empty()) {
        bool dependent = kind == "rowwise";
        for (Value* x : op->operands) dependent = dependent || row_dependent.count(x);
        open.ops.push_back(op);
        if (dependent)
          for (auto& r : op->results) row_dependent.insert(r.get());
        continue;
      }
      if (kind == "rowwise") {
        // The trailing ops that do not use the open kernel's reductions are a prologue of
        // this reduction rather than part of the open kernel.
        size_t first = open.ops.size();
        while (first > 0 && !row_dependent.count(open.ops[first - 1]->result()) && !no_row.count(open.ops[first - 1]))
          --first;
        std::vector<Op*> prologue(open.ops.begin() + long(first), open.ops.end());
        open.ops.resize(first);
        start(op, kind, blocker);
        open.ops.insert(open.ops.begin(), prologue.begin(), prologue.end());
        continue;
      }
      start(op, kind, blocker);
      continue;
    }
    if (kind == "elementwise" && ((open.kind == "matmul" && joins_matmul_epilogue(fn.body, *op, open)) ||
                                  (open.kind == "reduce" && joins_reduce_epilogue(*op, open)))) {
      open.ops.push_back(op);
      continue;
    }
    if (kind == "elementwise") {
      if (open.kind == "elementwise" && trailing_view(fn.body, *op, open)) {
        start(op, kind, op->name + ": a view of the kernel before it, which computes the unreshaped value");
        close();
      } else if (open.kind == "elementwise")
        open.ops.push_back(op);
      else
        start(op, kind, why_first(op, kind));
      continue;
    }
    if (kind == "rowwise" || kind == "reduce") {
      if (open.kind != "elementwise") {
        start(op, kind, why_first(op, kind));  // a reduce group stays open for its epilogue
        continue;
      }
      // The element-wise ops before the reduction become its prologue, from the last one
      // that must not join a row-wise kernel on.
      size_t first = open.ops.size();
      while (first > 0 && !no_row.count(open.ops[first - 1])) --first;
      Group prologue{{open.ops.begin() + long(first), open.ops.end()}, kind, {}, open.why, target};
      if (kind == "rowwise") prologue.rows = row_shape(*op);
      open.ops.resize(first);
      if (!open.ops.empty()) {
        prologue.why = "the element-wise ops before " + op->name + " also produce " +
                       open.ops.back()->result()->type.str() + " for other kernels";
        close();
      }
      open = prologue;
      open.ops.push_back(op);
      row_dependent = {op->result()};
      continue;
    }
    if (kind == "attention" && open.kind == "attention" && joins_attention_kernel(*op, open)) {
      open.ops.push_back(op);
      continue;
    }
    start(op, kind, why_first(op, kind));
    // A GEMM may take an epilogue, a flash kernel a second output.
    if (!(kind == "matmul" && takes_epilogue(*op, target)) && kind != "attention") close();
  }
  close();
  return groups;
}

// A value a rowwise group yields to later kernels that is neither a row nor one value per row,
// or a prologue value a reduce group would yield (its producer must leave the group), or null.
Op* misshapen_output(const Block& body, const Group& g) {
  if (g.kind != "rowwise" && g.kind != "reduce") return nullptr;
  for (Value* v : group_outputs(body, g.ops, g.ops.size())) {
    if (g.kind == "reduce" &&
        std::find(g.ops.begin(), g.ops.end(), reduction_of(g)) > std::find(g.ops.begin(), g.ops.end(), v->def))
      return v->def;
    if (g.kind == "rowwise" && (!v->type.has_static_shape() || !is_row_or_per_row(v->type.static_shape(), g.rows)))
      return v->def;
  }
  return nullptr;
}

// `checked(x, ok)` becomes x, and an rt.assert of ok for the executor; `debug_print(xs)` an
// rt.print of xs, its token a constant (host code, not kernels; moved after the kernels once
// they are formed).
void hoist_checks(Function& fn) {
  for (auto it = fn.body.ops.begin(); it != fn.body.ops.end();) {
    Op& op = **it;
    if (op.name == "checked") {
      replace_all_uses(fn.body, op.result(), op.operands[0]);
      fn.body.insert(it, Op::make("rt.assert", {op.operands[1]}, {}, {{"message", op.attrs.at("message")}}, op.loc));
    } else if (op.name == "debug_print") {
      Op* token = fn.body.insert(
          it, Op::make("constant", {}, {op.result()->type}, {{"value", 1.0}, {"type", op.result()->type}}, op.loc));
      replace_all_uses(fn.body, op.result(), token->result());
      fn.body.insert(it, Op::make("rt.print", op.operands, {}, {{"format", op.attrs.at("format")}}, op.loc));
    } else {
      ++it;
      continue;
    }
    it = fn.body.ops.erase(it);
  }
}

void form_kernels_in(Function& fn, const Target& target) {
  hoist_checks(fn);
  std::set<const Op*> no_row;
  std::vector<Group> groups;
  for (;;) {
    groups = group_ops(fn, no_row, target);
    Op* bad = nullptr;
    for (const Group& g : groups)
      if ((bad = misshapen_output(fn.body, g))) break;
    if (!bad) break;
    no_row.insert(bad);
  }
  std::vector<Group> split;
  for (const Group& g : groups) split_by_output_shape(fn.body, g, split);
  for (const Group& g : split) emit_kernel(fn, g, target);
  // Checks run after every kernel (executor), so they go last, after the kernels of their flags.
  std::vector<std::unique_ptr<Op>> checks;
  for (auto it = fn.body.ops.begin(); it != fn.body.ops.end();) {
    if ((*it)->name != "rt.assert" && (*it)->name != "rt.print") {
      ++it;
      continue;
    }
    checks.push_back(std::move(*it));
    it = fn.body.ops.erase(it);
  }
  auto end = fn.terminator() ? std::prev(fn.body.ops.end()) : fn.body.ops.end();
  for (auto& c : checks) fn.body.insert(end, std::move(c));
  // Constants now live inside the kernels that use them.
  fn.body.ops.remove_if([&](auto& o) { return o->name == "constant" && count_uses(fn.body, o->result()) == 0; });
}

}  // namespace

void form_kernels(Module& m) {
  Target target = Target::of(m);
  for (auto& fn : m.funcs)
    if (!fn->attrs.count("kernel")) form_kernels_in(*fn, target);
  tilegen::select_wgmma_kernels(m);     // sm_90a: wgmma instead of mma.sync where the shapes allow
  tilegen::select_f32_gemm_kernels(m);  // f32 block GEMMs: deeper K slices where shared memory allows
  tilegen::select_wgmma_attention(m);
}

}  // namespace tessera::passes
