// The one IR data structure shared by every level (Graph, Schedule, Tile).
//
// A Module holds Functions; a Function has one body Block whose arguments are the parameters;
// a Block holds Ops; an Op has operands (Values), results (Values), named attributes, an
// optional single Region (a nested Block, e.g. a kernel body or a loop body) and a source
// location. Levels differ only in which ops they use: Graph IR uses TSOL ops ("add",
// "matmul"), Schedule IR wraps fused groups in "sched.kernel", Tile IR uses "tile.*" ops
// inside kernel functions and "rt.*" ops in the host function. One printer and one parser
// handle all levels (see printer.cpp / parser.cpp for the grammar).
#pragma once
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/dtype.hpp"
#include "common/error.hpp"

namespace tessera::ir {

// ---- types ----

// A dimension: static (size >= 0) or symbolic (named, size unknown until run time).
struct Dim {
  int64_t size = -1;
  std::string sym;  // non-empty for a symbolic dim
  static Dim of(int64_t n) { return Dim{n, {}}; }
  static Dim symbol(std::string s) { return Dim{-1, std::move(s)}; }
  bool is_static() const { return sym.empty(); }
  bool operator==(const Dim& o) const { return size == o.size && sym == o.sym; }
  bool operator!=(const Dim& o) const { return !(*this == o); }
};

enum class TypeKind : uint8_t {
  Tensor,  // f32[4,N]      (rank-0: f32[])
  Scalar,  // f32           (a single value, Tile IR)
  Ptr,     // ptr<f32>      (global memory, Tile IR kernel parameters)
  Tile,    // tile<f32[256]> (one value per lane of a program instance, Tile IR)
};

struct Type {
  TypeKind kind = TypeKind::Tensor;
  DType dtype = DType::F32;
  std::vector<Dim> shape;  // Tensor and Tile only

  static Type tensor(DType t, std::vector<Dim> shape) { return {TypeKind::Tensor, t, std::move(shape)}; }
  static Type tensor(DType t, const std::vector<int64_t>& shape);
  static Type scalar(DType t) { return {TypeKind::Scalar, t, {}}; }
  static Type ptr(DType t) { return {TypeKind::Ptr, t, {}}; }
  static Type tile(DType t, int64_t lanes) { return {TypeKind::Tile, t, {Dim::of(lanes)}}; }

  bool is_tensor() const { return kind == TypeKind::Tensor; }
  bool is_tile() const { return kind == TypeKind::Tile; }
  int64_t rank() const { return int64_t(shape.size()); }
  bool has_static_shape() const;
  std::vector<int64_t> static_shape() const;  // throws if any dim is symbolic
  int64_t numel() const;                      // static shapes only
  std::string str() const;
  bool operator==(const Type& o) const { return kind == o.kind && dtype == o.dtype && shape == o.shape; }
  bool operator!=(const Type& o) const { return !(*this == o); }
};

// ---- attributes ----

using IntList = std::vector<int64_t>;
using Attr = std::variant<int64_t, double, bool, std::string, IntList, Type>;
std::string attr_str(const Attr& a);
using AttrMap = std::map<std::string, Attr>;  // sorted: printing is deterministic

// A reduction's `axis` attribute as the C++ op API takes it: one axis or a list of axes.
struct Axes {
  Attr value;
  Axes(int axis) : value(int64_t(axis)) {}                             // NOLINT: implicit, like the Python API
  Axes(int64_t axis) : value(axis) {}                                  // NOLINT
  Axes(IntList axes) : value(std::move(axes)) {}                       // NOLINT
  Axes(std::initializer_list<int64_t> axes) : value(IntList(axes)) {}  // NOLINT
};

// A "sizes" attribute (conv strides, kernel sizes): one int for every spatial dim, or one per dim.
using Sizes = Axes;

// A "padding" attribute: an int, one int per dim, [lo, hi] per dim, "same" or "valid".
struct Padding {
  Attr value;
  Padding(int p) : value(int64_t(p)) {}                             // NOLINT: implicit, like the Python API
  Padding(int64_t p) : value(p) {}                                  // NOLINT
  Padding(IntList p) : value(std::move(p)) {}                       // NOLINT
  Padding(std::initializer_list<int64_t> p) : value(IntList(p)) {}  // NOLINT
  Padding(const char* mode) : value(std::string(mode)) {}           // NOLINT
  Padding(std::string mode) : value(std::move(mode)) {}             // NOLINT
};

// ---- source locations ----

struct Location {
  std::string file;
  int line = 0;
  bool known() const { return line > 0; }
  std::string str() const { return known() ? file + ":" + std::to_string(line) : std::string(); }
  static Location parse(const std::string& s);  // "file:line" as str() writes it; else unknown
};

// ---- values, ops, blocks ----

struct Op;
struct Block;

struct Value {
  Type type;
  Op* def = nullptr;       // defining op, or null for a block argument
  Block* owner = nullptr;  // block whose argument this is, or null for an op result
  int index = 0;           // result index or argument index
  std::string name;        // optional readable name printed as %name (e.g. a Python parameter)
};

struct Block {
  std::vector<std::unique_ptr<Value>> args;
  std::list<std::unique_ptr<Op>> ops;
  Op* parent = nullptr;  // op whose region this is, or null for a function body

  Value* add_arg(Type t, std::string name = {});
  // Appends an op; returns it. The op's parent is set.
  Op* append(std::unique_ptr<Op> op);
  // Inserts before `pos`.
  Op* insert(std::list<std::unique_ptr<Op>>::iterator pos, std::unique_ptr<Op> op);
};

struct Op {
  std::string name;  // "add", "sched.kernel", "tile.load", "return", ...
  std::vector<Value*> operands;
  std::vector<std::unique_ptr<Value>> results;
  AttrMap attrs;
  std::unique_ptr<Block> region;  // optional nested block
  Location loc;
  Block* parent = nullptr;

  static std::unique_ptr<Op> make(std::string name, std::vector<Value*> operands, const std::vector<Type>& result_types,
                                  AttrMap attrs = {}, Location loc = {});
  Value* result(int i = 0) const { return results.at(size_t(i)).get(); }
  Block* add_region();

  bool has_attr(const std::string& k) const { return attrs.count(k) != 0; }
  int64_t int_attr(const std::string& k) const;
  int64_t int_attr(const std::string& k, int64_t dflt) const;
  double float_attr(const std::string& k) const;
  bool bool_attr(const std::string& k, bool dflt) const;
  const std::string& str_attr(const std::string& k) const;
  const IntList& ints_attr(const std::string& k) const;
};

struct Function {
  std::string name;
  Block body;  // body.args are the parameters
  std::vector<Type> result_types;
  AttrMap attrs;  // e.g. kernel = true, block = [256]
  Location loc;

  Op* terminator() const;  // the final "return" op, or null
};

struct Module {
  std::string name = "main";
  std::vector<std::unique_ptr<Function>> funcs;
  AttrMap attrs;

  Function* add_function(std::string name);
  Function* find(const std::string& name) const;
  std::unique_ptr<Module> clone() const;  // deep copy (print + parse is the reference behaviour)
  Function* add_copy(const Function& f);  // a deep copy of f (of any module) appended here
};

// ---- utilities shared by passes ----

// Replaces every use of `from` inside `block` (recursively, including regions) with `to`.
void replace_all_uses(Block& block, Value* from, Value* to);
// Number of uses of `v` inside `block` (recursively).
int count_uses(const Block& block, const Value* v);
// Visits every op in `block` and nested regions, pre-order.
template <class F>
void walk(Block& block, F&& f) {
  for (auto& op : block.ops) {
    f(*op);
    if (op->region) walk(*op->region, f);
  }
}

// ---- text ----

std::string print(const Module& m, bool with_locations = true);
std::string print(const Function& f, bool with_locations = true);
// One op's line as print() writes it (no region, no indentation), with values named as in
// the enclosing function's text. For error messages.
std::string print_op(const Op& op, bool with_locations = false);
// Throws tessera::Error(ErrorCode::Parse) naming line and column on malformed text.
std::unique_ptr<Module> parse(const std::string& text, const std::string& source_name = "<input>");
// One type as printed ("f32[2,N]", "ptr<bf16>", "i64"); throws ErrorCode::Parse.
Type parse_type(const std::string& text);
// An attribute dict's entries as the printer writes them, without braces: "axis = -1, keepdims = true".
AttrMap parse_attrs(const std::string& text);

// Throws tessera::Error(ErrorCode::Verify) naming the function, op and problem.
void verify(const Module& m);

}  // namespace tessera::ir
