// The IR data structure's helpers: types, attributes, building, cloning and use lists.
// Text (printer.cpp / parser.cpp) and checking (verifier.cpp) live in their own files.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "ir/ir.hpp"

namespace tessera::ir {

// ---- types ----

Type Type::tensor(DType t, const std::vector<int64_t>& shape) {
  std::vector<Dim> dims;
  dims.reserve(shape.size());
  for (int64_t n : shape) dims.push_back(n >= 0 ? Dim::of(n) : Dim{});
  return tensor(t, std::move(dims));
}

bool Type::has_static_shape() const {
  for (const Dim& d : shape)
    if (!d.is_static() || d.size < 0) return false;
  return true;
}

std::vector<int64_t> Type::static_shape() const {
  if (!has_static_shape()) fail(ErrorCode::Shape, "type " + str() + " has no static shape");
  std::vector<int64_t> out;
  out.reserve(shape.size());
  for (const Dim& d : shape) out.push_back(d.size);
  return out;
}

int64_t Type::numel() const {
  int64_t n = 1;
  for (int64_t d : static_shape()) n *= d;
  return n;
}

static std::string dims_str(const std::vector<Dim>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    const Dim& d = dims[i];
    if (!d.sym.empty())
      s += d.sym;
    else if (d.size >= 0)
      s += std::to_string(d.size);
    else
      s += "?";
  }
  return s + "]";
}

Location Location::parse(const std::string& s) {
  Location out;
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 >= s.size()) return out;
  out.file = s.substr(0, colon);
  out.line = std::atoi(s.c_str() + colon + 1);
  return out;
}

std::string Type::str() const {
  std::string dt = dtype_name(dtype);
  switch (kind) {
    case TypeKind::Tensor: return dt + dims_str(shape);
    case TypeKind::Scalar: return dt;
    case TypeKind::Ptr: return "ptr<" + dt + ">";
    case TypeKind::Tile: return "tile<" + dt + dims_str(shape) + ">";
  }
  return "?";
}

// ---- attributes ----

// The shortest decimal form that reads back as the same double, always recognisable as a
// float ("1.0", "1e-05", "inf", "nan").
static std::string float_str(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form, no locale
  std::string s(buf, res.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

static std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

std::string attr_str(const Attr& a) {
  struct V {
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return float_str(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& v) const { return quote(v); }
    std::string operator()(const IntList& v) const {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
      return s + "]";
    }
    std::string operator()(const Type& v) const { return v.str(); }
  };
  return std::visit(V{}, a);
}

// ---- blocks and ops ----

Value* Block::add_arg(Type t, std::string name) {
  auto v = std::make_unique<Value>();
  v->type = std::move(t);
  v->owner = this;
  v->index = int(args.size());
  v->name = std::move(name);
  args.push_back(std::move(v));
  return args.back().get();
}

Op* Block::append(std::unique_ptr<Op> op) { return insert(ops.end(), std::move(op)); }

Op* Block::insert(std::list<std::unique_ptr<Op>>::iterator pos, std::unique_ptr<Op> op) {
  op->parent = this;
  return ops.insert(pos, std::move(op))->get();
}

std::unique_ptr<Op> Op::make(std::string name, std::vector<Value*> operands, const std::vector<Type>& result_types,
                             AttrMap attrs, Location loc) {
  auto op = std::make_unique<Op>();
  op->name = std::move(name);
  op->operands = std::move(operands);
  op->attrs = std::move(attrs);
  op->loc = std::move(loc);
  for (size_t i = 0; i < result_types.size(); ++i) {
    auto v = std::make_unique<Value>();
    v->type = result_types[i];
    v->def = op.get();
    v->index = int(i);
    op->results.push_back(std::move(v));
  }
  return op;
}

Block* Op::add_region() {
  if (!region) {
    region = std::make_unique<Block>();
    region->parent = this;
  }
  return region.get();
}

static const Attr& get_attr(const Op& op, const std::string& k) {
  auto it = op.attrs.find(k);
  if (it == op.attrs.end()) fail(ErrorCode::Verify, "op '" + op.name + "' has no attribute '" + k + "'", op.loc.str());
  return it->second;
}

template <class T>
static const T& attr_as(const Op& op, const std::string& k, const Attr& a, const char* kind) {
  if (const T* v = std::get_if<T>(&a)) return *v;
  fail(ErrorCode::Verify, "attribute '" + k + "' of op '" + op.name + "' is " + attr_str(a) + ", not " + kind,
       op.loc.str());
}

int64_t Op::int_attr(const std::string& k) const { return attr_as<int64_t>(*this, k, get_attr(*this, k), "an int"); }

int64_t Op::int_attr(const std::string& k, int64_t dflt) const { return has_attr(k) ? int_attr(k) : dflt; }

double Op::float_attr(const std::string& k) const {
  const Attr& a = get_attr(*this, k);
  if (const int64_t* i = std::get_if<int64_t>(&a)) return double(*i);
  return attr_as<double>(*this, k, a, "a float");
}

bool Op::bool_attr(const std::string& k, bool dflt) const {
  return has_attr(k) ? attr_as<bool>(*this, k, get_attr(*this, k), "a bool") : dflt;
}

const std::string& Op::str_attr(const std::string& k) const {
  return attr_as<std::string>(*this, k, get_attr(*this, k), "a string");
}

const IntList& Op::ints_attr(const std::string& k) const {
  return attr_as<IntList>(*this, k, get_attr(*this, k), "an int list");
}

// ---- functions and modules ----

Op* Function::terminator() const {
  if (body.ops.empty()) return nullptr;
  Op* last = body.ops.back().get();
  return last->name == "return" ? last : nullptr;
}

Function* Module::add_function(std::string fname) {
  auto f = std::make_unique<Function>();
  f->name = std::move(fname);
  funcs.push_back(std::move(f));
  return funcs.back().get();
}

Function* Module::find(const std::string& fname) const {
  for (const auto& f : funcs)
    if (f->name == fname) return f.get();
  return nullptr;
}

namespace {

// Copies blocks in two steps: structure and values first, operands second, so that even
// unverified IR (a use before its definition) copies faithfully. Operands defined outside the
// copied function are kept as they are.
struct Cloner {
  std::unordered_map<const Value*, Value*> map;
  std::vector<std::pair<const Op*, Op*>> ops;

  void copy_block(const Block& from, Block& to) {
    for (const auto& a : from.args) map[a.get()] = to.add_arg(a->type, a->name);
    for (const auto& op : from.ops) {
      std::vector<Type> types;
      for (const auto& r : op->results) types.push_back(r->type);
      Op* copy = to.append(Op::make(op->name, {}, types, op->attrs, op->loc));
      for (size_t i = 0; i < op->results.size(); ++i) {
        copy->results[i]->name = op->results[i]->name;
        map[op->results[i].get()] = copy->results[i].get();
      }
      ops.emplace_back(op.get(), copy);
      if (op->region) copy_block(*op->region, *copy->add_region());
    }
  }

  void fix_operands() {
    for (auto& [from, to] : ops)
      for (Value* v : from->operands) {
        auto it = map.find(v);
        to->operands.push_back(it == map.end() ? v : it->second);
      }
  }
};

}  // namespace

std::unique_ptr<Module> Module::clone() const {
  auto m = std::make_unique<Module>();
  m->name = name;
  m->attrs = attrs;
  for (const auto& f : funcs) m->add_copy(*f);
  return m;
}

Function* Module::add_copy(const Function& f) {
  Function* g = add_function(f.name);
  g->result_types = f.result_types;
  g->attrs = f.attrs;
  g->loc = f.loc;
  Cloner c;
  c.copy_block(f.body, g->body);
  c.fix_operands();
  return g;
}

// ---- uses ----

void replace_all_uses(Block& block, Value* from, Value* to) {
  walk(block, [&](Op& op) {
    for (Value*& v : op.operands)
      if (v == from) v = to;
  });
}

int count_uses(const Block& block, const Value* v) {
  int n = 0;
  walk(const_cast<Block&>(block), [&](Op& op) {
    for (Value* u : op.operands) n += (u == v);
  });
  return n;
}

}  // namespace tessera::ir
