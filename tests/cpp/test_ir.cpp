// IR text, verifier, pass manager and tessera-opt tests. Plain C++: each TEST counts as passed
// when none of its CHECKs fail and it throws nothing; the last line is "N passed, M failed".
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ir/ir.hpp"
#include "ir/pass_manager.hpp"
#include "ir/registry.hpp"
#include "ir/target.hpp"
#include "tools/opt_tool.hpp"

using namespace tessera;
using namespace tessera::ir;

// ---- a tiny test harness ----

static int g_check_failures = 0;
static std::vector<std::pair<const char*, void (*)()>>& all_tests() {
  static std::vector<std::pair<const char*, void (*)()>> t;
  return t;
}
struct AddTest {
  AddTest(const char* name, void (*fn)()) { all_tests().emplace_back(name, fn); }
};
#define TEST(name)                        \
  static void name();                     \
  static AddTest add_##name(#name, name); \
  static void name()

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_check_failures;                                                           \
    }                                                                               \
  } while (0)

#define CHECK_EQ(a, b)                                                                                                 \
  do {                                                                                                                 \
    auto va_ = (a);                                                                                                    \
    auto vb_ = (b);                                                                                                    \
    if (!(va_ == vb_)) {                                                                                               \
      std::ostringstream os_;                                                                                          \
      os_ << va_ << "\n  vs\n" << vb_;                                                                                 \
      std::fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s\n  %s\n", __FILE__, __LINE__, #a, #b, os_.str().c_str()); \
      ++g_check_failures;                                                                                              \
    }                                                                                                                  \
  } while (0)

// Runs the statement, which must throw tessera::Error with `want_code` and a message containing `needle`.
#define CHECK_THROWS(want_code, needle, ...)                                                                          \
  do {                                                                                                                \
    bool thrown_ = false;                                                                                             \
    try {                                                                                                             \
      __VA_ARGS__;                                                                                                    \
    } catch (const Error& e_) {                                                                                       \
      thrown_ = true;                                                                                                 \
      if (e_.code() != (want_code) || std::string(e_.what()).find(needle) == std::string::npos) {                     \
        std::fprintf(stderr, "%s:%d: wrong error: [%s] %s (wanted [%s] containing '%s')\n", __FILE__, __LINE__,       \
                     error_code_name(e_.code()), e_.what(), error_code_name(want_code), std::string(needle).c_str()); \
        ++g_check_failures;                                                                                           \
      }                                                                                                               \
    }                                                                                                                 \
    if (!thrown_) {                                                                                                   \
      std::fprintf(stderr, "%s:%d: expected an error containing '%s'\n", __FILE__, __LINE__,                          \
                   std::string(needle).c_str());                                                                      \
      ++g_check_failures;                                                                                             \
    }                                                                                                                 \
  } while (0)

static std::string roundtrip(const std::string& text) { return print(*parse(text)); }

static std::string run(const std::string& text, const std::string& pipeline) {
  auto m = parse(text);
  verify(*m);
  run_pipeline(*m, pipeline, true);
  return print(*m);
}

// ---- hand-written modules covering the grammar, each exactly as the printer writes it ----

static const std::vector<std::string>& samples() {
  static const std::vector<std::string> s = {
      // The brief's example (less the undefined values): named and numbered values, attrs,
      // multiple results, locations.
      "module @main {\n"
      "func @f(%x: f32[4,8], %w: f32[8,N]) -> (f32[4,N]) attributes {block = [256], kernel = true} {\n"
      "  %0 = matmul(%x, %w) : f32[4,N] loc(\"model.py\":12)\n"
      "  %1 = sum(%0) {axis = -1, keepdims = false} : f32[4]\n"
      "  %2, %3 = some.op(%1) {name = \"a\\\"b\", scale = 0.5, t = f32[2]} : f32[4], i64\n"
      "  return(%0)\n"
      "}\n"
      "}\n",
      // Every kind of type; no results; empty return.
      "module @types {\n"
      "func @t(%a: f32[], %b: f16[?,3,B], %c: bf16, %d: ptr<i8>, %e: tile<u8[256]>, %f: bool[1], %g: i32[0], "
      "%h: f64[2], %i: i64, %j: tile<f32[?]>) {\n"
      "  return()\n"
      "}\n"
      "}\n",
      // Every kind of attribute; module attributes; quoted keys; an op without operands.
      "module @attrs attributes {target = \"cpu\", version = 3} {\n"
      "func @a() {\n"
      "  attrs.op() {\"a b\" = 1, b0 = true, b1 = false, e = [], f0 = 1.0, f1 = -0.0, f2 = 1e-05, f3 = inf, "
      "f4 = -inf, f5 = nan, f6 = 1e+300, f7 = 0.1, f8 = 123456.789, i0 = 0, i1 = -9223372036854775808, "
      "i2 = 9223372036854775807, l = [1, -2, 3], s0 = \"\", s1 = \"tab\\there\\\\ \\x01\\x7f\\n\\r\", "
      "s2 = \"h\xc3\xa9llo\", t0 = ptr<f32>, t1 = tile<f32[8]>, t2 = i64, t3 = f32[], t4 = bf16[2,N,?]}\n"
      "  return()\n"
      "}\n"
      "}\n",
      // Regions: named and numbered region arguments, an empty argument list, nesting.
      "module @main {\n"
      "func @k(%p: ptr<f32>, %n: i64) attributes {block = [256], kernel = true} {\n"
      "  %0 = tile.program_id() {axis = 0} : i64\n"
      "  %1 = tile.for(%0, %n, %0, %0) : i64 {\n"
      "  ^(%k: i64, %acc: i64):\n"
      "    %2 = arith.add(%acc, %k) : i64\n"
      "    %3 = nest.op() : f32 {\n"
      "    ^():\n"
      "      nest.inner(%2, %p, %acc) loc(\"k.py\":4)\n"
      "    }\n"
      "    tile.yield(%2)\n"
      "  }\n"
      "  %4 = tile.for(%0, %n, %0) : i64 loc(\"k.py\":9) {\n"
      "  ^(%5: i64):\n"
      "    tile.yield(%5)\n"
      "  }\n"
      "  tile.store(%p, %1, %4)\n"
      "}\n"
      "}\n",
      // Several functions, quoted names, function locations, several results.
      "module @\"my module\" {\n"
      "func @\"<lambda>\"(%0: f32[2]) -> (f32[2], f32[2]) loc(\"a b.py\":7) {\n"
      "  return(%0, %0) loc(\"a b.py\":8)\n"
      "}\n"
      "\n"
      "func @g() attributes {kernel = false} {\n"
      "  return()\n"
      "}\n"
      "\n"
      "func @h(%x.1: f32[4], %_y: f32[4]) -> (f32[4]) {\n"
      "  %z = add(%x.1, %_y) : f32[4]\n"
      "  return(%z)\n"
      "}\n"
      "}\n",
      // An empty module.
      "module @empty {\n"
      "}\n",
  };
  return s;
}

// ---- round trip ----

TEST(roundtrip_samples) {
  for (const auto& text : samples()) CHECK_EQ(roundtrip(text), text);
}

TEST(roundtrip_is_stable_after_renaming) {
  // Arbitrary numbers and names print canonically; the canonical text then round-trips.
  std::string in =
      "module @m {\n"
      "func @f(%7: f32[4], %b: f32[4]) -> (f32[4]) {\n"
      "  %42 = add(%7, %b) : f32[4]\n"
      "  %c = mul(%42, %42) : f32[4]\n"
      "  %3 = neg(%c) : f32[4]\n"
      "  return(%3)\n"
      "}\n"
      "}\n";
  std::string want =
      "module @m {\n"
      "func @f(%0: f32[4], %b: f32[4]) -> (f32[4]) {\n"
      "  %1 = add(%0, %b) : f32[4]\n"
      "  %c = mul(%1, %1) : f32[4]\n"
      "  %2 = neg(%c) : f32[4]\n"
      "  return(%2)\n"
      "}\n"
      "}\n";
  CHECK_EQ(roundtrip(in), want);
  CHECK_EQ(roundtrip(want), want);
  auto m = parse(in);
  CHECK(m->funcs[0]->body.args[0]->name.empty());  // numbers are not kept as names
  CHECK_EQ(m->funcs[0]->body.args[1]->name, std::string("b"));
}

TEST(comments_and_whitespace_are_skipped) {
  std::string in =
      "// leading comment\n"
      "module   @m{   // trailing\n"
      "func @f(%x:f32[ 4 , N ])->(f32[4,N]){\n"
      "  // a comment line\n"
      "  return( %x )   loc( \"f.py\" : 3 ) // after\n"
      "}}\n"
      "// end\n";
  std::string want =
      "module @m {\n"
      "func @f(%x: f32[4,N]) -> (f32[4,N]) {\n"
      "  return(%x) loc(\"f.py\":3)\n"
      "}\n"
      "}\n";
  CHECK_EQ(roundtrip(in), want);
}

TEST(print_without_locations) {
  auto m = parse(samples()[3]);
  std::string s = print(*m, false);
  CHECK(s.find("loc(") == std::string::npos);
  CHECK_EQ(print(*parse(s), false), s);
  auto m0 = parse(samples()[4]);
  CHECK(print(*m0, false).find("func @\"<lambda>\"(%0: f32[2]) -> (f32[2], f32[2]) {\n") != std::string::npos);
}

TEST(float_attributes_roundtrip_exactly) {
  const double values[] = {0.0,
                           -0.0,
                           0.1,
                           1.0 / 3,
                           2.0 / 3,
                           1e300,
                           -1e-300,
                           5e-324,
                           1.7976931348623157e308,
                           2.2250738585072014e-308,
                           1e16,
                           1e15 + 0.5,
                           123456789.0,
                           9007199254740993.0,
                           0.5,
                           -2.5,
                           100.0,
                           1e21,
                           1e-7,
                           3.141592653589793,
                           INFINITY,
                           -INFINITY,
                           NAN};
  for (double v : values) {
    Module m;
    Function* f = m.add_function("f");
    f->attrs["v"] = v;
    f->body.append(Op::make("return", {}, {}));
    std::string text = print(m);
    auto back = parse(text);
    double got = std::get<double>(back->funcs[0]->attrs.at("v"));
    if (std::isnan(v))
      CHECK(std::isnan(got));
    else
      CHECK(std::memcmp(&got, &v, sizeof v) == 0);
    CHECK_EQ(print(*back), text);
    std::string a = attr_str(Attr(v));
    CHECK(a.find_first_of(".en") != std::string::npos);  // reads back as a float, not an int
  }
  CHECK_EQ(attr_str(Attr(1.0)), std::string("1.0"));
  CHECK_EQ(attr_str(Attr(0.5)), std::string("0.5"));
  CHECK_EQ(attr_str(Attr(1e-5)), std::string("1e-05"));
  CHECK_EQ(attr_str(Attr(int64_t(3))), std::string("3"));
  CHECK_EQ(attr_str(Attr(IntList{})), std::string("[]"));
  CHECK_EQ(attr_str(Attr(IntList{1, 2})), std::string("[1, 2]"));
}

// ---- the C++ API ----

TEST(cpp_api_prints_as_expected) {
  Module m;
  m.attrs["target"] = std::string("cpu");
  Function* f = m.add_function("f");
  Value* x = f->body.add_arg(Type::tensor(DType::F32, std::vector<int64_t>{4, 8}), "x");
  Value* w = f->body.add_arg(Type::tensor(DType::F32, {Dim::of(8), Dim::symbol("N")}));
  Type out = Type::tensor(DType::F32, {Dim::of(4), Dim::symbol("N")});
  Op* mm = f->body.append(Op::make("matmul", {x, w}, {out}, {}, Location{"model.py", 12}));
  mm->result()->name = "y";
  Op* r = f->body.append(Op::make("relu", {mm->result()}, {out}));
  r->result()->name = "y";  // taken: falls back to a number
  Op* s = f->body.append(Op::make("sum", {r->result()}, {Type::tensor(DType::F32, std::vector<int64_t>{4})},
                                  {{"axis", int64_t(-1)}, {"keepdims", false}}));
  s->result()->name = "7";  // not an identifier: a number
  f->body.append(Op::make("return", {s->result()}, {}));
  f->result_types = {s->result()->type};
  std::string want =
      "module @main attributes {target = \"cpu\"} {\n"
      "func @f(%x: f32[4,8], %0: f32[8,N]) -> (f32[4]) {\n"
      "  %y = matmul(%x, %0) : f32[4,N] loc(\"model.py\":12)\n"
      "  %1 = relu(%y) : f32[4,N]\n"
      "  %2 = sum(%1) {axis = -1, keepdims = false} : f32[4]\n"
      "  return(%2)\n"
      "}\n"
      "}\n";
  CHECK_EQ(print(m), want);
  CHECK_EQ(roundtrip(want), want);
  CHECK_EQ(print(*f), want.substr(want.find("func"), want.rfind("}\n") - want.find("func")));
  CHECK_EQ(print_op(*s), std::string("%2 = sum(%1) {axis = -1, keepdims = false} : f32[4]"));
  CHECK_EQ(print_op(*mm, true), std::string("%y = matmul(%x, %0) : f32[4,N] loc(\"model.py\":12)"));
  verify(m);
  CHECK_EQ(print(*m.clone()), want);
  CHECK(f->terminator() && f->terminator()->name == "return");
  CHECK(m.find("f") == f && m.find("g") == nullptr);
}

TEST(types_and_attribute_helpers) {
  Type t = Type::tensor(DType::F16, {Dim::of(2), Dim::symbol("B"), Dim{}});
  CHECK_EQ(t.str(), std::string("f16[2,B,?]"));
  CHECK(!t.has_static_shape());
  CHECK_THROWS(ErrorCode::Shape, "f16[2,B,?]", t.static_shape());
  Type s = Type::tensor(DType::I32, std::vector<int64_t>{2, 3, 4});
  CHECK(s.has_static_shape());
  CHECK_EQ(s.numel(), int64_t(24));
  CHECK_EQ(Type::tensor(DType::F32, std::vector<int64_t>{}).str(), std::string("f32[]"));
  CHECK_EQ(Type::tensor(DType::F32, std::vector<int64_t>{}).numel(), int64_t(1));
  CHECK_EQ(Type::tile(DType::F32, 256).str(), std::string("tile<f32[256]>"));
  CHECK_EQ(Type::ptr(DType::BF16).str(), std::string("ptr<bf16>"));
  CHECK_EQ(Type::scalar(DType::Bool).str(), std::string("bool"));

  auto op = Op::make("x", {}, {},
                     {{"i", int64_t(3)}, {"f", 0.5}, {"b", true}, {"s", std::string("z")}, {"l", IntList{1, 2}}});
  CHECK_EQ(op->int_attr("i"), int64_t(3));
  CHECK_EQ(op->int_attr("missing", 9), int64_t(9));
  CHECK_EQ(op->float_attr("f"), 0.5);
  CHECK_EQ(op->float_attr("i"), 3.0);
  CHECK(op->bool_attr("b", false));
  CHECK(!op->bool_attr("missing", false));
  CHECK_EQ(op->str_attr("s"), std::string("z"));
  CHECK(op->ints_attr("l") == (IntList{1, 2}));
  CHECK_THROWS(ErrorCode::Verify, "no attribute 'q'", op->int_attr("q"));
  CHECK_THROWS(ErrorCode::Verify, "not an int", op->int_attr("s"));
}

TEST(use_helpers) {
  auto m = parse(
      "module @m {\n"
      "func @f(%a: f32[4], %b: f32[4]) -> (f32[4]) {\n"
      "  %0 = add(%a, %a) : f32[4]\n"
      "  %1 = r.op(%a) : f32[4] {\n"
      "  ^():\n"
      "    r.use(%a, %0)\n"
      "  }\n"
      "  return(%0)\n"
      "}\n"
      "}\n");
  Function& f = *m->funcs[0];
  Value* a = f.body.args[0].get();
  Value* b = f.body.args[1].get();
  CHECK_EQ(count_uses(f.body, a), 4);
  replace_all_uses(f.body, a, b);
  CHECK_EQ(count_uses(f.body, a), 0);
  CHECK_EQ(count_uses(f.body, b), 4);
  int n = 0;
  walk(f.body, [&](Op&) { ++n; });
  CHECK_EQ(n, 4);
}

// ---- parse errors ----

TEST(parse_errors_name_line_and_column) {
  struct Case {
    std::string text, where, what;
  };
  const std::string pre = "module @m {\nfunc @f(%x: f32[4]) {\n";
  const std::vector<Case> cases = {
      {"", "<input>:1:1: ", "expected 'module', found end of input"},
      {"module main {}", "<input>:1:8: ", "expected a module name"},
      {"module @m {\n}\nextra", "<input>:3:1: ", "end of input"},
      {"module @m {\nfunc @f() {\n  return()\n}\n", "<input>:5:1: ", "found end of input"},
      {pre + "  %0 = add(%y, %x) : f32[4]\n}\n}\n", "<input>:3:12: ", "undefined value %y"},
      {pre + "  %0 = neg(%x) : f32[4]\n  %0 = neg(%x) : f32[4]\n}\n}\n", "<input>:4:3: ", "defined twice"},
      {pre + "  %x = neg(%x) : f32[4]\n}\n}\n", "<input>:3:3: ", "defined twice"},
      {pre + "  %0, %1 = two(%x) : f32[4]\n}\n}\n", "<input>:3:3: ", "2 result(s) but lists 1"},
      {pre + "  %0 = neg(%x)\n}\n}\n", "<input>:3:3: ", "1 result(s) but lists 0"},
      {pre + "  neg(%x) : f32[4]\n}\n}\n", "<input>:3:11: ", "0 result(s) but lists 1"},
      {pre + "  %0 = neg(%x) : f33[4]\n}\n}\n", "<input>:3:18: ", "unknown element type 'f33'"},
      {pre + "  a.b() {s = \"abc}\n}\n}\n", "<input>:3:14: ", "unterminated string"},
      {pre + "  a.b() {s = \"a\\qb\"}\n}\n}\n", "<input>:3:16: ", "unknown escape sequence '\\q'"},
      {pre + "  a.b() {s = \"\\x4\"}\n}\n}\n", "<input>:3:15: ", "two hex digits"},
      {pre + "  %0 = neg(%x) : f32[4,-1]\n}\n}\n", "<input>:3:24: ", "must not be negative"},
      {pre + "  a.b() {i = 99999999999999999999}\n}\n}\n", "<input>:3:14: ", "does not fit in 64 bits"},
      {pre + "  a.b() {f = 1e999}\n}\n}\n", "<input>:3:14: ", "out of range"},
      {pre + "  # oops\n}\n}\n", "<input>:3:3: ", "unexpected character '#'"},
      {pre + "  a.b() {k 1}\n}\n}\n", "<input>:3:12: ", "expected '=' after the attribute name"},
      {pre + "  a.b() {k = 1, k = 2}\n}\n}\n", "<input>:3:17: ", "given twice"},
      {pre + "  a.b() {k = foo}\n}\n}\n", "<input>:3:14: ", "expected an attribute value"},
      {pre + "  a.b() {k = [1, 2.5]}\n}\n}\n", "<input>:3:18: ", "an integer in an int list"},
      {pre + "  %0 = r() : f32 {\n  ^(%a: f32):\n    y(%a)\n  }\n  z(%a)\n}\n}\n",
       "<input>:7:5: ", "defined inside a region and is not visible here"},
      {pre + "  %0 = r() : f32 {\n  ^():\n    y(%0)\n  }\n}\n}\n", "<input>:5:7: ", "not visible in it"},
      {pre + "  %0 = r() : f32 {\n  ^(%a: f32)\n  }\n}\n}\n", "<input>:5:3: ", "expected ':' after the region"},
      {pre + "  %0 = r() : f32 {\n  }\n}\n}\n", "<input>:4:3: ", "expected '^(' to start the region"},
      {pre + "  return(%1a)\n}\n}\n", "<input>:3:10: ", "expected a value name"},
      {pre + "  return(%)\n}\n}\n", "<input>:3:10: ", "expected a value name"},
      {pre + "  return(%x) loc(\"f\":0)\n}\n}\n", "<input>:3:22: ", "line number out of range"},
      {pre + "  return(%x) loc(f:1)\n}\n}\n", "<input>:3:18: ", "expected a file name string"},
      {pre + "  %0 = neg(%x) : ptr<f32\n}\n}\n", "<input>:4:1: ", "expected '>'"},
      {pre + "  return(%x %x)\n}\n}\n", "<input>:3:13: ", "expected ',' or ')' in the operand list"},
      {"module @m {\nfunc @f() -> f32 {\n}\n}\n", "<input>:2:14: ", "expected '(' after '->'"},
      {"module @m {\nfunc @f() {\n}\nfunc @f() {\n}\n}\n", "<input>:4:6: ", "function @f is defined twice"},
      {"module @m {\nfunc @f(%a: f32, %a: f32) {\n}\n}\n", "<input>:2:18: ", "defined twice"},
      {"module @m {\n  bogus\n}\n", "<input>:2:3: ", "expected 'func' or '}'"},
      {"module @m {\nfunc @f() {\n  return(\n", "<input>:4:1: ", "expected an operand"},
      {pre + "  %0 = neg(%x) : f32[4 4]\n}\n}\n", "<input>:3:24: ", "expected ',' or ']'"},
      {pre + "  %0 = neg(%x) : f32[4]] \n}\n}\n", "<input>:3:24: ", "expected an op name"},
      {"module @m {\nfunc @f() {\n  x() {a = 1.5x}\n}\n}\n", "<input>:3:12: ", "malformed number"},
  };
  for (const auto& c : cases) {
    std::string full = c.where + c.what;
    bool ok = false;
    try {
      parse(c.text);
    } catch (const Error& e) {
      std::string msg = e.what();
      ok = e.code() == ErrorCode::Parse && msg.rfind(c.where, 0) == 0 && msg.find(c.what) != std::string::npos;
      if (!ok) std::fprintf(stderr, "  got:    %s\n  wanted: %s...%s\n", msg.c_str(), c.where.c_str(), c.what.c_str());
    }
    if (!ok) std::fprintf(stderr, "  for input:\n%s\n", c.text.c_str());
    CHECK(ok);
  }
}

TEST(parse_error_uses_source_name) { CHECK_THROWS(ErrorCode::Parse, "model.tir:1:1: ", parse("func", "model.tir")); }

// ---- fuzzing: mutants never crash; they parse (and then round-trip) or throw tessera::Error ----

static std::vector<std::string> rough_tokens(const std::string& s) {
  std::vector<std::string> out;
  auto word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '%' || c == '@';
  };
  for (size_t i = 0; i < s.size();) {
    size_t j = i + 1;
    if (word(s[i]))
      while (j < s.size() && word(s[j])) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

static std::string mutate(const std::string& text, std::mt19937& rng) {
  auto pick = [&](size_t n) { return n ? size_t(rng() % n) : 0; };
  std::string s = text;
  int rounds = 1 + int(rng() % 3);
  for (int r = 0; r < rounds && !s.empty(); ++r) {
    int kind = int(rng() % 7);
    if (kind < 4) {
      size_t i = pick(s.size());
      static const char junk[] = "{}()[]<>,:=%@^?-\"\\/ \n0123456789aef.x";
      switch (kind) {
        case 0: s.erase(i, 1); break;
        case 1: s.insert(i, 1, s[i]); break;
        case 2:
          if (i + 1 < s.size()) std::swap(s[i], s[i + 1]);
          break;
        case 3: s.insert(i, 1, junk[pick(sizeof junk - 1)]); break;
      }
    } else {
      std::vector<std::string> t = rough_tokens(s);
      size_t i = pick(t.size()), j = pick(t.size());
      if (kind == 4)
        t.erase(t.begin() + long(i));
      else if (kind == 5)
        t.insert(t.begin() + long(i), t[j]);
      else
        std::swap(t[i], t[j]);
      s.clear();
      for (const auto& x : t) s += x;
    }
  }
  return s;
}

TEST(fuzz_mutants_never_crash) {
  std::mt19937 rng(20240611u);
  int parsed = 0, rejected = 0, verified = 0;
  const auto& base = samples();
  const char* iters = std::getenv("TESSERA_IR_FUZZ_ITERS");  // for longer runs by hand
  const int count = iters ? std::atoi(iters) : 2400;
  for (int n = 0; n < count; ++n) {
    std::string text = mutate(base[size_t(n) % base.size()], rng);
    std::unique_ptr<Module> m;
    try {
      m = parse(text);
    } catch (const Error& e) {
      ++rejected;
      if (e.code() != ErrorCode::Parse) {
        std::fprintf(stderr, "mutant %d: non-parse error %s\n", n, e.what());
        CHECK(false);
      }
      continue;
    }
    ++parsed;
    std::string printed = print(*m);
    std::string again;
    try {
      again = roundtrip(printed);
    } catch (const Error& e) {
      std::fprintf(stderr, "mutant %d: printed text does not parse: %s\n%s\n", n, e.what(), printed.c_str());
    }
    CHECK_EQ(again, printed);
    CHECK_EQ(print(*m->clone()), printed);
    try {
      verify(*m);
      ++verified;
      run_pipeline(*m, "cse,dce", true);
      CHECK_EQ(roundtrip(print(*m)), print(*m));
    } catch (const Error&) {}
  }
  std::printf("fuzz: %d mutants parsed (%d verified), %d rejected\n", parsed, verified, rejected);
  CHECK(parsed > count / 20 && rejected > count / 2);
}

TEST(deep_nesting_is_rejected_not_overflowed) {
  std::string s = "module @m {\nfunc @f() {\n";
  for (int i = 0; i < 100000; ++i) s += "r() {\n^():\n";
  CHECK_THROWS(ErrorCode::Parse, "nested more than", parse(s));
}

// ---- verifier ----

static const Type kT4 = Type::tensor(DType::F32, std::vector<int64_t>{4});

// A function @f(%x: f32[4]) -> (f32[4]) to build into.
static Function* new_func(Module& m, Value*& x) {
  Function* f = m.add_function("f");
  x = f->body.add_arg(kT4, "x");
  f->result_types = {kT4};
  return f;
}

TEST(verify_accepts_valid_modules) {
  verify(
      *parse("module @m {\n"
             "func @f(%x: f32[4,8], %w: f32[8,N]) -> (f32[4]) {\n"
             "  %0 = matmul(%x, %w) : f32[4,N]\n"
             "  %1 = relu(%0) : f32[4,N]\n"
             "  %2 = sum(%1) {axis = -1, keepdims = false} : f32[4]\n"
             "  return(%2)\n"
             "}\n"
             "\n"
             "func @k(%p: ptr<f32>) attributes {kernel = true} {\n"
             "}\n"
             "\n"
             "func @k2(%p: ptr<f32>) attributes {kernel = true} {\n"
             "  return()\n"
             "}\n"
             "}\n"));
}

TEST(verify_use_before_def) {
  Module m;
  Value* x;
  Function* f = new_func(m, x);
  Op* a = f->body.append(Op::make("add", {x, x}, {kT4}));
  Op* b = f->body.append(Op::make("neg", {x}, {kT4}));
  a->operands[1] = b->result();
  f->body.append(Op::make("return", {a->result()}, {}));
  CHECK_THROWS(ErrorCode::Verify,
               "in function @f: op '%0 = add(%x, %1) : f32[4]': operand #1 is used before its definition", verify(m));
}

TEST(verify_value_from_nested_region_used_outside) {
  Module m;
  Value* x;
  Function* f = new_func(m, x);
  Op* k = f->body.append(Op::make("sched.kernel", {x}, {kT4}, {{"kind", std::string("elementwise")}}));
  Block* body = k->add_region();
  Value* a = body->add_arg(kT4);
  Op* inner = body->append(Op::make("add", {a, a}, {kT4}));
  body->append(Op::make("sched.yield", {inner->result()}, {}));
  Op* use = f->body.append(Op::make("neg", {inner->result()}, {kT4}, {}, Location{"m.py", 7}));
  f->body.append(Op::make("return", {use->result()}, {}));
  try {
    verify(m);
    CHECK(false);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Verify);
    CHECK_EQ(e.message(),
             std::string("in function @f: op '%3 = neg(%2) : f32[4]': operand #0 is defined inside a nested "
                         "region and is not visible here"));
    CHECK_EQ(e.location(), std::string("m.py:7"));
  }
  // Regions do see the values around them.
  use->operands[0] = k->result();
  verify(m);
  inner->operands[1] = x;
  verify(m);
}

TEST(verify_op_results_not_visible_in_own_region) {
  Module m;
  Value* x;
  Function* f = new_func(m, x);
  Op* k = f->body.append(Op::make("sched.kernel", {x}, {kT4}, {{"kind", std::string("elementwise")}}));
  Block* body = k->add_region();
  body->add_arg(kT4);
  Op* inner = body->append(Op::make("add", {k->result(), x}, {kT4}));
  body->append(Op::make("sched.yield", {inner->result()}, {}));
  f->body.append(Op::make("return", {k->result()}, {}));
  CHECK_THROWS(ErrorCode::Verify, "operand #0 is used before its definition", verify(m));
}

TEST(verify_return_rules) {
  auto bad_types = [] { verify(*parse("module @m {\nfunc @f(%x: f32[4]) -> (f32[8]) {\n  return(%x)\n}\n}\n")); };
  CHECK_THROWS(ErrorCode::Verify, "op 'return(%x)': returns (f32[4]) but the function's result types are (f32[8])",
               bad_types());
  auto too_many = [] { verify(*parse("module @m {\nfunc @f(%x: f32[4]) {\n  return(%x)\n}\n}\n")); };
  CHECK_THROWS(ErrorCode::Verify, "returns (f32[4]) but the function's result types are ()", too_many());
  auto missing = [] { verify(*parse("module @m {\nfunc @f(%x: f32[4]) {\n  %0 = neg(%x) : f32[4]\n}\n}\n")); };
  CHECK_THROWS(ErrorCode::Verify, "in function @f: the body does not end with 'return'", missing());
  auto not_last = [] { verify(*parse("module @m {\nfunc @f(%x: f32[4]) {\n  return()\n  return()\n}\n}\n")); };
  CHECK_THROWS(ErrorCode::Verify, "'return' must be the last op", not_last());
  auto kernel_returns_value = [] {
    verify(*parse("module @m {\nfunc @k(%x: f32[4]) attributes {kernel = true} {\n  return(%x)\n}\n}\n"));
  };
  CHECK_THROWS(ErrorCode::Verify, "returns (f32[4])", kernel_returns_value());
}

TEST(verify_unknown_op_and_registry_checks) {
  CHECK_THROWS(ErrorCode::Verify, "in function @f: op '%0 = foo.bar(%x) : f32[4]': unknown op 'foo.bar'",
               verify(*parse("module @m {\nfunc @f(%x: f32[4]) -> (f32[4]) {\n  %0 = foo.bar(%x) : f32[4]\n"
                             "  return(%0)\n}\n}\n")));
  // A registry failure keeps the op's text and location.
  try {
    verify(
        *parse("module @m {\nfunc @f(%x: f32[4]) -> (f32[8]) {\n  %0 = neg(%x) : f32[8] loc(\"a.py\":3)\n"
               "  return(%0)\n}\n}\n"));
    CHECK(false);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Verify);
    CHECK(e.message().rfind("in function @f: op '%0 = neg(%x) : f32[8]': ", 0) == 0);
    CHECK_EQ(e.location(), std::string("a.py:3"));
  }
}

TEST(verify_parent_pointers) {
  Module m;
  Value* x;
  Function* f = new_func(m, x);
  Op* a = f->body.append(Op::make("neg", {x}, {kT4}));
  f->body.append(Op::make("return", {a->result()}, {}));
  verify(m);
  a->parent = nullptr;
  CHECK_THROWS(ErrorCode::Verify, "parent pointer", verify(m));
  a->parent = &f->body;
  a->result()->index = 3;
  CHECK_THROWS(ErrorCode::Verify, "result #0 has an inconsistent def/index", verify(m));
  a->result()->index = 0;
  a->operands[0] = nullptr;
  CHECK_THROWS(ErrorCode::Verify, "operand #0 is null", verify(m));
  Module other;
  Value* y;
  new_func(other, y);
  a->operands[0] = y;
  CHECK_THROWS(ErrorCode::Verify, "operand #0 is not defined in this function", verify(m));
  m.add_function("f")->body.append(Op::make("return", {}, {}));
  a->operands[0] = x;
  CHECK_THROWS(ErrorCode::Verify, "function @f is defined twice", verify(m));
}

// ---- passes and the pass manager ----

TEST(dce_and_cse) {
  std::string in =
      "module @m {\n"
      "func @f(%x: f32[4], %y: f32[4]) -> (f32[4]) {\n"
      "  %0 = add(%x, %y) : f32[4]\n"
      "  %1 = add(%x, %y) : f32[4]\n"
      "  %2 = add(%x, %y) {} : f32[4]\n"
      "  %3 = mul(%0, %1) : f32[4]\n"
      "  %4 = mul(%0, %2) : f32[4]\n"
      "  %5 = exp(%4) : f32[4]\n"
      "  %6 = sub(%3, %4) : f32[4]\n"
      "  return(%6)\n"
      "}\n"
      "}\n";
  CHECK_EQ(run(in, "cse"), std::string("module @m {\n"
                                       "func @f(%x: f32[4], %y: f32[4]) -> (f32[4]) {\n"
                                       "  %0 = add(%x, %y) : f32[4]\n"
                                       "  %1 = mul(%0, %0) : f32[4]\n"
                                       "  %2 = exp(%1) : f32[4]\n"
                                       "  %3 = sub(%1, %1) : f32[4]\n"
                                       "  return(%3)\n"
                                       "}\n"
                                       "}\n"));
  CHECK_EQ(run(in, " cse , dce "), std::string("module @m {\n"
                                               "func @f(%x: f32[4], %y: f32[4]) -> (f32[4]) {\n"
                                               "  %0 = add(%x, %y) : f32[4]\n"
                                               "  %1 = mul(%0, %0) : f32[4]\n"
                                               "  %2 = sub(%1, %1) : f32[4]\n"
                                               "  return(%2)\n"
                                               "}\n"
                                               "}\n"));
  // dce alone removes only the unused exp; everything else is used.
  std::string dce = run(in, "dce");
  CHECK(dce.find("exp") == std::string::npos && dce.find("%3 = mul") != std::string::npos);
}

TEST(dce_inside_regions_and_impure_ops) {
  std::string in =
      "module @m {\n"
      "func @f(%x: f32[4]) -> (f32[4]) {\n"
      "  %0 = sched.kernel(%x) {kind = \"elementwise\"} : f32[4] {\n"
      "  ^(%a: f32[4]):\n"
      "    %1 = neg(%a) : f32[4]\n"
      "    %2 = exp(%1) : f32[4]\n"
      "    sched.yield(%a)\n"
      "  }\n"
      "  %3 = sched.kernel(%x) {kind = \"elementwise\"} : f32[4] {\n"
      "  ^(%b: f32[4]):\n"
      "    sched.yield(%b)\n"
      "  }\n"
      "  return(%0)\n"
      "}\n"
      "}\n";
  CHECK_EQ(run(in, "dce"), std::string("module @m {\n"
                                       "func @f(%x: f32[4]) -> (f32[4]) {\n"
                                       "  %0 = sched.kernel(%x) {kind = \"elementwise\"} : f32[4] {\n"
                                       "  ^(%a: f32[4]):\n"
                                       "    sched.yield(%a)\n"
                                       "  }\n"
                                       "  return(%0)\n"
                                       "}\n"
                                       "}\n"));
  // Unknown ops are impure: kept, and so are the values they use.
  auto m = parse(
      "module @m {\nfunc @f(%x: f32[4]) {\n  %0 = neg(%x) : f32[4]\n  %1 = mystery(%0) : f32[4]\n  return()\n}\n}\n");
  run_pipeline(*m, "dce", false);
  CHECK(print(*m).find("%0 = neg") != std::string::npos);
}

TEST(cse_is_scoped_by_regions) {
  std::string in =
      "module @m {\n"
      "func @f(%x: f32[4]) -> (f32[4]) {\n"
      "  %0 = neg(%x) : f32[4]\n"
      "  %1 = sched.kernel(%x) {kind = \"elementwise\"} : f32[4] {\n"
      "  ^(%a: f32[4]):\n"
      "    %2 = neg(%x) : f32[4]\n"
      "    %3 = exp(%a) : f32[4]\n"
      "    %4 = add(%2, %3) : f32[4]\n"
      "    sched.yield(%4)\n"
      "  }\n"
      "  %5 = sched.kernel(%x) {kind = \"elementwise\"} : f32[4] {\n"
      "  ^(%b: f32[4]):\n"
      "    %6 = exp(%b) : f32[4]\n"
      "    sched.yield(%6)\n"
      "  }\n"
      "  %7 = exp(%x) : f32[4]\n"
      "  %8 = add(%1, %5) : f32[4]\n"
      "  %9 = add(%8, %7) : f32[4]\n"
      "  return(%9)\n"
      "}\n"
      "}\n";
  // The inner neg(%x) reuses the outer one; exp in one region is not visible in the other or
  // after it; the two kernels (ops with regions) are not merged.
  CHECK_EQ(run(in, "cse"), std::string("module @m {\n"
                                       "func @f(%x: f32[4]) -> (f32[4]) {\n"
                                       "  %0 = neg(%x) : f32[4]\n"
                                       "  %1 = sched.kernel(%x) {kind = \"elementwise\"} : f32[4] {\n"
                                       "  ^(%a: f32[4]):\n"
                                       "    %2 = exp(%a) : f32[4]\n"
                                       "    %3 = add(%0, %2) : f32[4]\n"
                                       "    sched.yield(%3)\n"
                                       "  }\n"
                                       "  %4 = sched.kernel(%x) {kind = \"elementwise\"} : f32[4] {\n"
                                       "  ^(%b: f32[4]):\n"
                                       "    %5 = exp(%b) : f32[4]\n"
                                       "    sched.yield(%5)\n"
                                       "  }\n"
                                       "  %6 = exp(%x) : f32[4]\n"
                                       "  %7 = add(%1, %4) : f32[4]\n"
                                       "  %8 = add(%7, %6) : f32[4]\n"
                                       "  return(%8)\n"
                                       "}\n"
                                       "}\n"));
}

TEST(pass_manager_registry_and_pipelines) {
  auto names = [] {
    std::vector<std::string> v;
    for (const auto* p : list_passes()) v.push_back(p->name);
    return v;
  };
  std::vector<std::string> n = names();
  for (const char* want : {"cse", "dce", "verify"}) CHECK(std::find(n.begin(), n.end(), want) != n.end());
  CHECK(std::is_sorted(n.begin(), n.end()));
  CHECK(find_pass("dce") && !find_pass("dce")->description.empty());
  CHECK(find_pass("nope") == nullptr);
  CHECK_THROWS(ErrorCode::Value, "unknown pass 'nope' (known passes: ", parse_pipeline("cse,nope"));
  CHECK_THROWS(ErrorCode::Value, "empty pass name", parse_pipeline("cse,,dce"));
  CHECK(parse_pipeline("  ").empty());
  CHECK(parse_pipeline(" verify ,cse,\tdce\n") == (std::vector<std::string>{"verify", "cse", "dce"}));

  static int calls = 0;
  register_pass("test-count", "counts its runs", [](Module&) { ++calls; });
  CHECK_THROWS(ErrorCode::Internal, "registered twice", register_pass("test-count", "again", [](Module&) {}));
  CHECK_THROWS(ErrorCode::Internal, "invalid pass name", register_pass("a b", "bad", [](Module&) {}));
  auto m = parse(samples()[5]);
  run_pipeline(*m, "test-count,test-count");
  CHECK_EQ(calls, 2);

  // A pass that breaks the IR is caught by TESSERA_VERIFY_EACH.
  register_pass("test-break", "appends an unknown op", [](Module& mod) {
    mod.funcs[0]->body.insert(mod.funcs[0]->body.ops.begin(), Op::make("broken.op", {}, {}));
  });
  auto g = parse("module @m {\nfunc @f() {\n  return()\n}\n}\n");
  CHECK_THROWS(ErrorCode::Verify, "after pass 'test-break': in function @f", run_pipeline(*g, "test-break", true));
}

TEST(builtin_pass_names_are_taken) {
  CHECK_THROWS(ErrorCode::Internal, "registered twice", register_pass("dce", "mine", [](Module&) {}));
}

TEST(typed_target_parses_annotates_and_reads_back) {
  Target h = Target::parse("nvptx:sm_90a");
  CHECK(h.nvptx() && h.gpu() && h.sm == 90 && h.wgmma && h.cp_async && h.mma_sync && h.fp8);
  CHECK_EQ(h.str(), std::string("nvptx:sm_90a"));
  Target plain = Target::parse("nvptx:sm_90");  // wgmma needs the "a" variant
  CHECK(!plain.wgmma && plain.cp_async && plain.shared_memory == 227 * 1024);
  Target turing = Target::parse("nvptx:sm_75");
  CHECK(!turing.cp_async && !turing.mma_sync && !turing.fp8 && turing.sm == 75);
  CHECK_EQ(Target::parse("nvptx").arch, std::string("sm_90"));
  CHECK_EQ(Target::parse("amdgpu").arch, std::string("gfx942"));
  CHECK(Target::parse("cpu").cpu() && Target::parse("cpu:host").arch.empty());
  CHECK_THROWS(ErrorCode::Compile, "unknown GPU architecture 'sm_42'", Target::parse("nvptx:sm_42"));
  CHECK_THROWS(ErrorCode::Compile, "unknown target 'tpu'", Target::parse("tpu"));
  CHECK_THROWS(ErrorCode::Compile, "unknown flavour 'opencl'", Target::parse("spirv:opencl"));

  auto m = parse("module @m {\nfunc @f() {\n  return()\n}\n}\n");
  CHECK(Target::of(*m).cpu() && Target::of(*m).simd_bits == 256);  // no attributes: the CPU
  h.sm_count = 20;
  h.annotate(*m);
  auto back = parse(print(*m));  // the target survives printing
  Target t = Target::of(*back);
  CHECK(t.nvptx() && t.arch == "sm_90a" && t.sm_count == 20 && t.wgmma);
  Target cpu = Target::parse("cpu");
  cpu.simd_bits = 512;
  cpu.annotate(*back);  // replaces the GPU's attributes
  CHECK(!back->attrs.count("arch") && !back->attrs.count("sm_count"));
  CHECK(Target::of(*back).cpu() && Target::of(*back).simd_bits == 512);
  auto bare = parse("module @m attributes {target = \"nvptx\"} {\nfunc @f() {\n  return()\n}\n}\n");
  Target b = Target::of(*bare);  // hand-written IR without an arch: sm_80's baseline features
  CHECK(b.cp_async && !b.wgmma && b.sm == 0);
  auto bad = parse("module @m attributes {target = 3} {\nfunc @f() {\n  return()\n}\n}\n");
  CHECK_THROWS(ErrorCode::Value, "module attribute 'target'", Target::of(*bad));
}

TEST(dump_ir_writes_each_stage) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("tessera_test_ir_dump_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ::setenv("TESSERA_DUMP_IR", (dir / "sub").c_str(), 1);
  auto m = parse(samples()[4]);
  run_pipeline(*m, "cse,dce");
  ::unsetenv("TESSERA_DUMP_IR");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir / "sub")) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK_EQ(files.size(), size_t(3));
  if (files.size() == 3) {
    CHECK_EQ(files[0], std::string("00-input.tir"));
    CHECK_EQ(files[1], std::string("01-cse.tir"));
    CHECK_EQ(files[2], std::string("02-dce.tir"));
    std::ifstream in(dir / "sub" / files[2]);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_EQ(text, print(*m));
  }
  fs::remove_all(dir);
}

// ---- tessera-opt ----

static int opt(std::vector<std::string> args) {
  args.insert(args.begin(), "tessera-opt");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return tessera_opt_main(int(args.size()), argv.data());
}

TEST(opt_tool_files_and_errors) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("tessera_test_opt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string in = (dir / "in.tir").string(), out = (dir / "out.tir").string();
  std::ofstream(in) << "module @m {\nfunc @f(%x: f32[4]) -> (f32[4]) {\n  %0 = neg(%x) : f32[4] loc(\"a.py\":1)\n"
                       "  %1 = neg(%x) : f32[4]\n  return(%0)\n}\n}\n";
  CHECK_EQ(opt({in, "-p", "cse,dce", "--no-locations", "-o", out}), 0);
  std::ifstream got(out);
  std::string text((std::istreambuf_iterator<char>(got)), std::istreambuf_iterator<char>());
  CHECK_EQ(text, std::string("module @m {\nfunc @f(%x: f32[4]) -> (f32[4]) {\n  %0 = neg(%x) : f32[4]\n"
                             "  return(%0)\n}\n}\n"));
  CHECK_EQ(opt({in, "--passes=dce", "-o" + out}), 0);
  std::fprintf(stderr, "(the next three error lines are expected)\n");
  CHECK_EQ(opt({(dir / "missing.tir").string()}), 1);
  CHECK_EQ(opt({in, "--bogus"}), 1);
  CHECK_EQ(opt({in, "-p", "nope"}), 1);
  fs::remove_all(dir);
}

int main() {
  int passed = 0, failed = 0;
  for (const auto& [name, fn] : all_tests()) {
    int before = g_check_failures;
    bool ok = true;
    try {
      fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: unexpected exception: %s\n", name, e.what());
      ok = false;
    }
    ok = ok && g_check_failures == before;
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", name);
    (ok ? passed : failed)++;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
