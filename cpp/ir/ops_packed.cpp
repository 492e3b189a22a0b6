// Schedule IR ops of the CPU matmul (passes/pack_matmul.cpp creates them after autodiff):
//
//   sched.pack(x) {axis, width}: the operand of a matmul re-laid out as panels that the
//     register-blocked micro-kernel (tile.microkernel) streams through contiguously. axis -2 packs a
//     left operand [..., M, K] into [..., ceil(M/w), K, w]; axis -1 packs a right operand
//     [..., K, N] into [..., ceil(N/w), K, w]. Rows past M (columns past N) are zero. It is a
//     data-movement op, so producers (a transpose, a cast, relu) fuse into the packing kernel.
//   sched.packed_matmul(a, b) {m, n, mc, nc, kc}: the product of two packed operands, an
//     [..., m, n] matrix; mc/nc/kc are the cache blocks (see tilegen/matmul_packed.cpp).
#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

using Shape = std::vector<int64_t>;

constexpr int64_t kMaxBlockElements = 65536;  // 256 KiB of f32, 512 KiB of f64

Shape static_dims(const std::string& op, const Type& t) {
  require_tensor(op, t);
  if (!t.has_static_shape()) fail(ErrorCode::Shape, op + ": needs static dims, got " + t.str());
  return t.static_shape();
}

OpInfo pack() {
  OpInfo info;
  info.name = "sched.pack";
  info.cls = OpClass::DataMovement;
  info.min_operands = info.max_operands = 1;
  info.operand_names = {"x"};
  info.attrs = {{"axis", "int", true, "-2: pack rows of a left operand; -1: columns of a right operand"},
                {"width", "int", true, "panel width (the micro-kernel's rows or columns)"}};
  info.summary =
      "A matmul operand re-laid out as zero-padded panels of `width` rows (axis -2) or columns "
      "(axis -1): [..., ceil(R/w), K, w].";
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    Shape s = static_dims("sched.pack", in[0]);
    int64_t axis = std::get<int64_t>(a.at("axis")), w = std::get<int64_t>(a.at("width"));
    if (s.size() < 2 || (axis != -2 && axis != -1) || w < 1)
      fail(ErrorCode::Value, "sched.pack: needs a matrix, axis -2 or -1 and width >= 1, got " + in[0].str());
    int64_t rows = s[s.size() + size_t(axis)], k = axis == -2 ? s.back() : s[s.size() - 2];
    Shape out(s.begin(), s.end() - 2);
    out.insert(out.end(), {(rows + w - 1) / w, k, w});
    return std::vector<Type>{Type::tensor(in[0].dtype, out)};
  };
  info.lower_at = [](ValueAt& e, const Op& op, const ValueAt::Coords& c) {
    Builder& b = e.builder();
    Shape s = op.operands[0]->type.static_shape();
    int64_t axis = op.int_attr("axis"), w = op.int_attr("width");
    size_t batch = s.size() - 2;
    int64_t rows = s[s.size() + size_t(axis)];
    // c = [batch..., panel, k, i]: the element of row (column) panel*w + i at depth k.
    Value* r = e.arith("add", e.arith("mul", c[batch], e.i64(w)), c[batch + 2]);
    Value* inside = b.cmp("lt", r, e.i64(rows));
    Value* clamped = e.arith("min", r, e.i64(rows - 1));
    ValueAt::Coords src(c.begin(), c.begin() + long(batch));
    if (axis == -2)
      src.insert(src.end(), {clamped, c[batch + 1]});
    else
      src.insert(src.end(), {c[batch + 1], clamped});
    Value* v = e.at(op.operands[0], src);
    if (rows % w == 0) return v;  // no padding lanes
    return b.value("arith.select", {inside, v, b.constant(v->type.dtype, 0.0)});
  };
  return info;
}

OpInfo packed_matmul() {
  OpInfo info;
  info.name = "sched.packed_matmul";
  info.cls = OpClass::Contraction;
  info.min_operands = info.max_operands = 2;
  info.operand_names = {"a", "b"};
  info.attrs = {
      {"m", "int", true, "rows of the result"},
      {"n", "int", true, "columns of the result"},
      {"mc", "int", true, "rows of C per program instance (a multiple of the A panel width; mc * nc <= 65536)"},
      {"nc", "int", true, "columns of C per program instance (a multiple of the B panel width)"},
      {"kc", "int", true, "depth of one pass over the packed panels"}};
  info.summary = "Matrix product of packed operands (sched.pack): [..., m, n], broadcasting batch dims.";
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    Shape sa = static_dims("sched.packed_matmul", in[0]), sb = static_dims("sched.packed_matmul", in[1]);
    if (sa.size() < 3 || sb.size() < 3 || sa[sa.size() - 2] != sb[sb.size() - 2] || in[0].dtype != in[1].dtype)
      fail(ErrorCode::Shape,
           "sched.packed_matmul: operands are not packed panels of one depth: " + in[0].str() + ", " + in[1].str());
    int64_t m = std::get<int64_t>(a.at("m")), n = std::get<int64_t>(a.at("n"));
    int64_t wa = sa.back(), wb = sb.back();
    if ((m + wa - 1) / wa != sa[sa.size() - 3] || (n + wb - 1) / wb != sb[sb.size() - 3])
      fail(ErrorCode::Shape, "sched.packed_matmul: m/n do not match the panels " + in[0].str() + ", " + in[1].str());
    for (const char* k : {"mc", "nc", "kc"})
      if (std::get<int64_t>(a.at(k)) < 1)
        fail(ErrorCode::Value, std::string("sched.packed_matmul: ") + k + " must be >= 1");
    if (std::get<int64_t>(a.at("mc")) % wa || std::get<int64_t>(a.at("nc")) % wb)
      fail(ErrorCode::Value, "sched.packed_matmul: mc and nc must be multiples of the panel widths");
    // An epilogue keeps the instance's mc x nc block of C on its thread's stack.
    if (std::get<int64_t>(a.at("mc")) * std::get<int64_t>(a.at("nc")) > kMaxBlockElements)
      fail(ErrorCode::Value, "sched.packed_matmul: mc * nc must be at most " + std::to_string(kMaxBlockElements));
    Type ba = Type::tensor(in[0].dtype, Shape(sa.begin(), sa.end() - 3));
    Type bb = Type::tensor(in[1].dtype, Shape(sb.begin(), sb.end() - 3));
    std::vector<Dim> out = broadcast_shapes("sched.packed_matmul", ba, bb);
    out.push_back(Dim::of(m));
    out.push_back(Dim::of(n));
    return std::vector<Type>{Type::tensor(in[0].dtype, out)};
  };
  return info;
}

}  // namespace

void register_packed_ops(std::vector<OpInfo>& out) {
  out.push_back(pack());
  out.push_back(packed_matmul());
}

}  // namespace tessera::ir
