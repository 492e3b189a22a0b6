// The IR printer. One grammar for every level; parser.cpp reads back exactly what this writes:
//
//   module @main attributes {k = v} {
//   func @f(%x: f32[4,8], %w: f32[8,N]) -> (f32[4,N]) attributes {kernel = true} loc("m.py":3) {
//     %0 = matmul(%x, %w) : f32[4,N] loc("model.py":12)
//     %1, %2 = some.op(%0) {axis = -1, name = "a\"b"} : f32[4], i64
//     tile.store(%p, %i, %v)
//     %3 = tile.for(%lb, %ub, %step, %acc0) : tile<f32[256]> {
//     ^(%k: i64, %acc: tile<f32[256]>):
//       tile.yield(%acc)
//     }
//     return(%1)
//   }
//   }
//
// Values print as %name when Value::name is a valid identifier not already taken in the
// function, otherwise as %0, %1, ... in definition order (arguments, then each op's results,
// then its region's arguments and ops). Attribute dicts are sorted by key (AttrMap is ordered).
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "ir/ir.hpp"
#include "ir/lexer.hpp"

namespace tessera::ir {
namespace {

bool is_identifier(const std::string& s) {
  if (s.empty() || !is_ident_start(s[0])) return false;
  for (char c : s)
    if (!is_ident_char(c)) return false;
  return true;
}

// @name, or @"..." when the name is not an identifier.
std::string symbol_str(const std::string& name) { return "@" + (is_identifier(name) ? name : attr_str(Attr(name))); }

class Namer {
 public:
  void number(const Block& b) {
    for (const auto& a : b.args) define(a.get());
    for (const auto& op : b.ops) {
      for (const auto& r : op->results) define(r.get());
      if (op->region) number(*op->region);
    }
  }
  void define(const Value* v) {
    if (names_.count(v)) return;
    if (is_identifier(v->name) && taken_.insert(v->name).second)
      names_[v] = "%" + v->name;
    else
      names_[v] = "%" + std::to_string(next_++);
  }
  std::string ref(const Value* v) const {
    if (!v) return "%<null>";
    auto it = names_.find(v);
    return it == names_.end() ? "%<unknown>" : it->second;
  }

 private:
  std::unordered_map<const Value*, std::string> names_;
  std::unordered_set<std::string> taken_;
  int next_ = 0;
};

class Printer {
 public:
  Printer(std::ostringstream& os, bool locs) : os_(os), locs_(locs) {}

  void module(const Module& m) {
    os_ << "module " << symbol_str(m.name);
    if (!m.attrs.empty()) os_ << " attributes " << attr_dict(m.attrs);
    os_ << " {\n";
    for (size_t i = 0; i < m.funcs.size(); ++i) {
      if (i) os_ << "\n";
      function(*m.funcs[i]);
    }
    os_ << "}\n";
  }

  void function(const Function& f) {
    namer_ = Namer();
    namer_.number(f.body);
    os_ << "func " << symbol_str(f.name) << "(" << arg_list(f.body) << ")";
    if (!f.result_types.empty()) os_ << " -> (" << type_list(f.result_types) << ")";
    if (!f.attrs.empty()) os_ << " attributes " << attr_dict(f.attrs);
    os_ << loc(f.loc) << " {\n";
    for (const auto& op : f.body.ops) operation(*op, 1);
    os_ << "}\n";
  }

  std::string op_line(const Op& op) const {
    std::string s;
    for (size_t i = 0; i < op.results.size(); ++i) s += (i ? ", " : "") + namer_.ref(op.results[i].get());
    if (!op.results.empty()) s += " = ";
    s += op.name + "(";
    for (size_t i = 0; i < op.operands.size(); ++i) s += (i ? ", " : "") + namer_.ref(op.operands[i]);
    s += ")";
    if (!op.attrs.empty()) s += " " + attr_dict(op.attrs);
    if (!op.results.empty()) {
      s += " : ";
      for (size_t i = 0; i < op.results.size(); ++i) s += (i ? ", " : "") + op.results[i]->type.str();
    }
    return s + loc(op.loc);
  }

  Namer& namer() { return namer_; }

 private:
  std::ostringstream& os_;
  bool locs_;
  Namer namer_;

  void operation(const Op& op, int depth) {
    std::string ind(size_t(depth) * 2, ' ');
    os_ << ind << op_line(op);
    if (op.region) {
      os_ << " {\n" << ind << "^(" << arg_list(*op.region) << "):\n";
      for (const auto& inner : op.region->ops) operation(*inner, depth + 1);
      os_ << ind << "}";
    }
    os_ << "\n";
  }

  std::string arg_list(const Block& b) const {
    std::string s;
    for (size_t i = 0; i < b.args.size(); ++i)
      s += (i ? ", " : "") + namer_.ref(b.args[i].get()) + ": " + b.args[i]->type.str();
    return s;
  }

  static std::string type_list(const std::vector<Type>& ts) {
    std::string s;
    for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + ts[i].str();
    return s;
  }

  static std::string attr_dict(const AttrMap& attrs) {
    std::string s = "{";
    bool first = true;
    for (const auto& [k, v] : attrs) {
      s += (first ? "" : ", ") + (is_identifier(k) ? k : attr_str(Attr(k))) + " = " + attr_str(v);
      first = false;
    }
    return s + "}";
  }

  std::string loc(const Location& l) const {
    if (!locs_ || !l.known()) return "";
    return " loc(" + attr_str(Attr(l.file)) + ":" + std::to_string(l.line) + ")";
  }
};

}  // namespace

std::string print(const Module& m, bool with_locations) {
  std::ostringstream os;
  Printer(os, with_locations).module(m);
  return os.str();
}

std::string print(const Function& f, bool with_locations) {
  std::ostringstream os;
  Printer(os, with_locations).function(f);
  return os.str();
}

std::string print_op(const Op& op, bool with_locations) {
  // Name values as the enclosing function does: number from the outermost block.
  const Block* top = op.parent;
  for (int depth = 0; top && top->parent && top->parent->parent && depth < 100000; ++depth) top = top->parent->parent;
  std::ostringstream os;
  Printer p(os, with_locations);
  if (top) p.namer().number(*top);
  for (const auto& r : op.results) p.namer().define(r.get());
  return p.op_line(op);
}

}  // namespace tessera::ir
