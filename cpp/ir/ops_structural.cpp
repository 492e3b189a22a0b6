// Structural ops shared by the levels: function return, Schedule IR kernels, and the host
// side of Tile IR (allocations and kernel launches run by the executor).
#include "ir/op_rules.hpp"
#include "ir/ops.hpp"

namespace tessera::ir {
namespace {

OpInfo structural(const std::string& name, int min_ops, int max_ops, std::vector<AttrSpec> attrs, bool pure,
                  const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::Structural;
  info.min_operands = min_ops;
  info.max_operands = max_ops;
  info.attrs = std::move(attrs);
  info.pure = pure;
  info.summary = summary;
  return info;
}

constexpr int64_t kMaxLanes = 65536;

void verify_kernel(const Op& op) {
  const Block& body = *op.region;
  if (body.args.size() != op.operands.size())
    fail(ErrorCode::Verify, "sched.kernel: region must take one argument per operand");
  for (size_t i = 0; i < op.operands.size(); ++i)
    if (body.args[i]->type != op.operands[i]->type)
      fail(ErrorCode::Verify, "sched.kernel: region argument types must match the operands");
  if (body.ops.empty() || body.ops.back()->name != "sched.yield")
    fail(ErrorCode::Verify, "sched.kernel: region must end with sched.yield");
  const Op& y = *body.ops.back();
  if (y.operands.size() != op.results.size())
    fail(ErrorCode::Verify, "sched.kernel: sched.yield must yield one value per result");
  for (size_t i = 0; i < y.operands.size(); ++i)
    if (y.operands[i]->type != op.results[i]->type)
      fail(ErrorCode::Verify, "sched.kernel: yielded types must match the results");
  const std::string& kind = op.str_attr("kind");
  if (kind != "elementwise" && kind != "reduce" && kind != "rowwise" && kind != "matmul" && kind != "scatter" &&
      kind != "sort" && kind != "scan" && kind != "linalg" && kind != "pack" && kind != "attention")
    fail(ErrorCode::Verify, "sched.kernel: unknown kind '" + kind + "'");
  // Lanes size per-instance arrays and divide the iteration space: 0 or a huge count would
  // crash the generated code rather than the verifier.
  if (op.has_attr("rows") && op.int_attr("rows") < 1)
    fail(ErrorCode::Verify, "sched.kernel: rows must be >= 1, got " + std::to_string(op.int_attr("rows")));
  if (op.has_attr("lanes") && (op.int_attr("lanes") < 1 || op.int_attr("lanes") > kMaxLanes))
    fail(ErrorCode::Verify, "sched.kernel: lanes must be in [1, " + std::to_string(kMaxLanes) + "], got " +
                                std::to_string(op.int_attr("lanes")));
}

}  // namespace

void register_structural_ops(std::vector<OpInfo>& out) {
  out.push_back(structural("return", 0, -1, {}, false, "Returns values from a function."));

  OpInfo kernel = structural(
      "sched.kernel", 0, -1,
      {{"kind", "str", true, "elementwise | reduce | rowwise | matmul | scatter | sort | scan | pack | attention"},
       {"lanes", "int", false, "lanes per program instance"},
       {"rows", "int", false,
        "CPU elementwise: whole rows of the last dim per program instance (row mode: outer coordinates "
        "are scalars, the last dim a tile)"},
       {"why_split", "str", false, "why this kernel did not fuse with the one before it"},
       {"tile", "ints", false, "tile sizes of the iteration space"},
       {"vector", "int", false, "NVIDIA: consecutive lanes per thread, read and written as vectors"},
       {"threads", "int", false, "NVIDIA: threads per block when lanes are not threads"},
       {"mma", "str", false,
        "NVIDIA matmul and attention: tensor-core instruction family (wgmma on sm_90a; tf32: an f32 "
        "matmul whose precision allows TF32, sm_80+)"},
       {"tma", "int", false, "NVIDIA wgmma matmul: 1 (default) TMA copies, 0 cp.async"},
       {"stages", "int", false, "NVIDIA f32 matmul (tile.fma_gemm): K slices in flight in shared memory (default 2)"},
       {"persistent", "int", false,
        "NVIDIA wgmma matmul: program instances of a persistent grid when there are more block tiles "
        "(0: one instance per tile)"},
       {"staged_epilogue", "int", false,
        "NVIDIA wgmma matmul, persistent, 16-bit product: 1 the epilogue runs from shared memory on the "
        "producer warpgroup's spare warps, 0 in the consumers' registers (default: staged when K >= 4096 "
        "and the epilogue reads no input as large as the product)"},
       {"epilogue_chunks", "int", false,
        "NVIDIA wgmma matmul, staged epilogue: chunks each epilogue thread computes before storing (default 1)"},
       {"overlap", "int", false,
        "NVIDIA wgmma attention: 1 (default) O += P V of key tile j-1 runs during the softmax of "
        "tile j (FlashAttention-3's intra-warpgroup pipelining), 0 one tile at a time"},
       {"pingpong", "int", false,
        "NVIDIA wgmma attention: 1 (default) the consumer warpgroups take turns to issue their "
        "wgmma, 0 each issues when ready"}},
      true, "A fused group of Graph IR ops run as one kernel over one iteration space.");
  kernel.has_region = true;
  kernel.verify_op = verify_kernel;
  out.push_back(kernel);
  out.push_back(structural("sched.yield", 0, -1, {}, false, "Ends a sched.kernel region with its results."));

  OpInfo alloc = structural("rt.alloc", 0, 0, {}, false, "Allocates an output buffer on the target device.");
  alloc.verify_op = [](const Op& op) {
    if (op.results.size() != 1 || !op.results[0]->type.is_tensor() || !op.results[0]->type.has_static_shape())
      fail(ErrorCode::Verify, "rt.alloc: must produce one tensor of static shape");
  };
  out.push_back(alloc);
  OpInfo view = structural("rt.view", 1, 1, {}, false,
                           "The operand's buffer seen with the result's shape (row-major order kept): a reshape that "
                           "moves no data.");
  view.verify_op = [](const Op& op) {
    if (op.results.size() != 1 || op.operands.size() != 1) fail(ErrorCode::Verify, "rt.view: one operand, one result");
    const Type &in = op.operands[0]->type, &out = op.results[0]->type;
    if (!in.is_tensor() || !out.is_tensor() || !in.has_static_shape() || !out.has_static_shape() ||
        in.dtype != out.dtype)
      fail(ErrorCode::Verify,
           "rt.view: needs tensors of static shape and one dtype, got " + in.str() + " -> " + out.str());
    int64_t a = 1, b = 1;
    for (int64_t d : in.static_shape()) a *= d;
    for (int64_t d : out.static_shape()) b *= d;
    if (a != b)
      fail(ErrorCode::Verify, "rt.view: " + in.str() + " and " + out.str() + " hold different element counts");
  };
  out.push_back(view);
  OpInfo launch =
      structural("rt.launch", 0, -1,
                 {{"kernel", "str", true, "name of the kernel function"},
                  {"grid", "ints", true, "program instances along x, y, z"},
                  {"block", "ints", true, "threads per instance along x, y, z (GPU)"},
                  {"shared", "int", false, "dynamic shared memory bytes"},
                  {"flops", "int", false, "floating-point operations of the kernel's products (for the profiler)"},
                  {"tensor_maps", "ints", false,
                   "NVIDIA: TMA descriptors appended to the arguments, 11 numbers each: [arg, elem_bytes, "
                   "3 dims, 2 byte strides, 3 box dims, swizzle bytes]"}},
                 false, "Launches a kernel function over a grid; operands are its buffers.");
  launch.verify_op = [](const Op& op) {
    if (!op.results.empty()) fail(ErrorCode::Verify, "rt.launch: has no results");
    if (op.ints_attr("grid").size() != 3 || op.ints_attr("block").size() != 3)
      fail(ErrorCode::Verify, "rt.launch: grid and block need three entries");
  };
  out.push_back(launch);

  // Run-time checks (take's mode = "error", ...): `checked` passes x through once `ok` (a
  // rank-0 bool) is known to hold; form-kernels turns it into the host's rt.assert, which the
  // executor evaluates after the program's kernels ran, raising `message` if ok is false.
  OpInfo checked = structural("checked", 2, 2, {{"message", "str", true, "the error raised when ok is false"}}, true,
                              "x, checked at run time: the program raises `message` unless the rank-0 bool `ok` "
                              "holds.");
  checked.operand_names = {"x", "ok"};
  checked.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_tensor("checked", in[0]);
    if (!in[1].is_tensor() || in[1].dtype != DType::Bool || in[1].rank() != 0)
      fail(ErrorCode::Verify, "checked: ok must be a rank-0 bool tensor, got " + in[1].str());
    return std::vector<Type>{in[0]};
  };
  out.push_back(checked);
  OpInfo assert_op =
      structural("rt.assert", 1, 1, {{"message", "str", true, "the error raised when the flag is false"}}, false,
                 "Raises `message` after the program ran if its rank-0 bool operand is false.");
  assert_op.verify_op = [](const Op& op) {
    const Type& t = op.operands[0]->type;
    if (!op.results.empty() || !t.is_tensor() || t.dtype != DType::Bool || t.rank() != 0)
      fail(ErrorCode::Verify, "rt.assert: takes one rank-0 bool tensor and has no results, got " + t.str());
  };
  out.push_back(assert_op);

  // tessera.debug_print inside traced code: prints its operands when the program runs (after
  // its kernels); the result is a token that keeps the op alive (the trace returns it).
  OpInfo print =
      structural("debug_print", 0, -1, {{"format", "str", true, "a Python format string, {} per operand"}}, true,
                 "Prints the operands with `format` when the program runs; returns a rank-0 bool token.");
  print.infer = [](const std::vector<Type>& in, const AttrMap&) {
    for (const Type& t : in) require_tensor("debug_print", t);
    return std::vector<Type>{Type::tensor(DType::Bool, std::vector<Dim>{})};
  };
  out.push_back(print);
  OpInfo rt_print = structural("rt.print", 0, -1, {{"format", "str", true, "a Python format string"}}, false,
                               "Hands its buffers and `format` to the printer after the program's kernels ran.");
  out.push_back(rt_print);
}

}  // namespace tessera::ir
