// The IR parser: reads exactly the grammar printer.cpp writes (and `//` comments).
//
//   module    := 'module' SYMBOL ('attributes' attrdict)? '{' func* '}'
//   func      := 'func' SYMBOL '(' (arg (',' arg)*)? ')' ('->' '(' types? ')')?
//                ('attributes' attrdict)? loc? '{' op* '}'
//   op        := (VALUE (',' VALUE)* '=')? IDENT '(' (VALUE (',' VALUE)*)? ')' attrdict?
//                (':' types)? loc? region?
//   region    := '{' '^' '(' (arg (',' arg)*)? ')' ':' op* '}'
//   arg       := VALUE ':' type
//   type      := DTYPE dims? | 'ptr' '<' DTYPE '>' | 'tile' '<' DTYPE dims '>'
//   dims      := '[' (dim (',' dim)*)? ']'      dim := INT | IDENT | '?'
//   attrdict  := '{' (key '=' attr (',' key '=' attr)*)? '}'     key := IDENT | STRING
//   attr      := INT | FLOAT | 'inf' | '-inf' | 'nan' | 'true' | 'false' | STRING
//              | '[' (INT (',' INT)*)? ']' | type
//   loc       := 'loc' '(' STRING ':' INT ')'
//
// Values are defined once per function and used only after their definition, in the same
// block or an enclosing one. Names that are numbers (%0) are not kept in Value::name, so the
// printer renumbers them identically; other names are kept.
#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "ir/ir.hpp"
#include "ir/lexer.hpp"

namespace tessera::ir {
namespace {

constexpr int kMaxRegionDepth = 200;

class Parser {
 public:
  Parser(std::vector<Token> toks, std::string source) : t_(std::move(toks)), src_(std::move(source)) {}

  Type standalone_type() {
    Type t = type();
    if (!at(Tok::Eof)) error("end of input after the type");
    return t;
  }

  AttrMap standalone_attrs() {
    AttrMap a = attr_dict();
    if (!at(Tok::Eof)) error("end of input after the attributes");
    return a;
  }

  std::unique_ptr<Module> module() {
    auto m = std::make_unique<Module>();
    expect_keyword("module");
    m->name = expect(Tok::Symbol, "a module name (@name)").text;
    if (at_keyword("attributes")) {
      next();
      m->attrs = attr_dict();
    }
    expect(Tok::LBrace, "'{'");
    while (!at(Tok::RBrace)) {
      if (!at_keyword("func")) error("'func' or '}'");
      function(*m);
    }
    next();
    if (!at(Tok::Eof)) error("end of input after the module's closing '}'");
    return m;
  }

 private:
  std::vector<Token> t_;
  std::string src_;
  size_t p_ = 0;
  int depth_ = 0;
  // Per function: every name defined so far, and those visible at the current point.
  std::unordered_set<std::string> defined_;
  std::unordered_map<std::string, Value*> visible_;
  std::unordered_set<std::string> pending_;  // results of ops whose region is being parsed

  // ---- token helpers ----

  const Token& cur() const { return t_[p_]; }
  const Token& peek(size_t k) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  bool at(Tok k) const { return cur().kind == k; }
  bool at_keyword(const char* kw) const { return at(Tok::Ident) && cur().text == kw; }
  const Token& next() {
    const Token& t = t_[p_];
    if (p_ + 1 < t_.size()) ++p_;
    return t;
  }

  [[noreturn]] void error_at(const Token& t, const std::string& what) const {
    fail(ErrorCode::Parse, src_ + ":" + std::to_string(t.line) + ":" + std::to_string(t.col) + ": " + what);
  }
  [[noreturn]] void error(const std::string& expected) const {
    error_at(cur(), "expected " + expected + ", found " + describe(cur()));
  }

  const Token& expect(Tok k, const char* what) {
    if (!at(k)) error(what);
    return next();
  }
  void expect_keyword(const char* kw) {
    if (!at_keyword(kw)) error(std::string("'") + kw + "'");
    next();
  }

  // ---- values ----

  Value* use(const Token& t) {
    auto it = visible_.find(t.text);
    if (it != visible_.end()) return it->second;
    if (pending_.count(t.text))
      error_at(t, "value %" + t.text + " is a result of the op that owns this region and is not visible in it");
    if (defined_.count(t.text)) error_at(t, "value %" + t.text + " is defined inside a region and is not visible here");
    error_at(t, "use of undefined value %" + t.text);
  }

  // Reserves a result name before the op's region is parsed.
  void claim(const Token& t) {
    if (!defined_.insert(t.text).second) error_at(t, "value %" + t.text + " is defined twice");
    pending_.insert(t.text);
  }

  void define(const Token& t, Value* v, std::vector<std::string>& scope) {
    if (!pending_.erase(t.text) && !defined_.insert(t.text).second)
      error_at(t, "value %" + t.text + " is defined twice");
    if (!(t.text[0] >= '0' && t.text[0] <= '9')) v->name = t.text;
    visible_[t.text] = v;
    scope.push_back(t.text);
  }

  // ---- types ----

  DType dtype() {
    if (!at(Tok::Ident)) error("an element type (f32, i64, ...)");
    auto dt = parse_dtype(cur().text);
    if (!dt)
      error_at(cur(),
               "unknown element type '" + cur().text + "' (expected f64, f32, f16, bf16, i64, i32, i8, u8 or bool)");
    next();
    return *dt;
  }

  std::vector<Dim> dims() {
    expect(Tok::LBracket, "'['");
    std::vector<Dim> out;
    if (at(Tok::RBracket)) {
      next();
      return out;
    }
    for (;;) {
      if (at(Tok::Int)) {
        if (cur().ival < 0) error_at(cur(), "dimension sizes must not be negative, found " + cur().raw);
        out.push_back(Dim::of(next().ival));
      } else if (at(Tok::Ident)) {
        out.push_back(Dim::symbol(next().text));
      } else if (at(Tok::Question)) {
        next();
        out.push_back(Dim{});
      } else {
        error("a dimension (a size, a symbol or '?')");
      }
      if (at(Tok::RBracket)) break;
      expect(Tok::Comma, "',' or ']' in a shape");
    }
    next();
    return out;
  }

  Type type() {
    if (at_keyword("ptr") || at_keyword("tile")) {
      bool tile = cur().text == "tile";
      next();
      expect(Tok::Less, "'<'");
      Type t;
      t.kind = tile ? TypeKind::Tile : TypeKind::Ptr;
      t.dtype = dtype();
      if (tile) t.shape = dims();
      expect(Tok::Greater, "'>'");
      return t;
    }
    Type t;
    t.dtype = dtype();
    if (at(Tok::LBracket)) {
      t.kind = TypeKind::Tensor;
      t.shape = dims();
    } else {
      t.kind = TypeKind::Scalar;
    }
    return t;
  }

  std::vector<Type> type_list() {
    std::vector<Type> out{type()};
    while (at(Tok::Comma)) {
      next();
      out.push_back(type());
    }
    return out;
  }

  // ---- attributes ----

  Attr attr() {
    const Token& t = cur();
    switch (t.kind) {
      case Tok::Int: next(); return Attr(t.ival);
      case Tok::Float: next(); return Attr(t.fval);
      case Tok::String: next(); return Attr(t.text);
      case Tok::Minus:
        if (peek(1).kind == Tok::Ident && peek(1).text == "inf") {
          next();
          next();
          return Attr(-std::numeric_limits<double>::infinity());
        }
        error("an attribute value");
      case Tok::LBracket: {
        next();
        IntList v;
        while (!at(Tok::RBracket)) {
          if (!v.empty()) expect(Tok::Comma, "',' or ']' in an int list");
          if (!at(Tok::Int)) error("an integer in an int list");
          v.push_back(next().ival);
        }
        next();
        return Attr(std::move(v));
      }
      case Tok::Ident:
        if (t.text == "true" || t.text == "false") {
          next();
          return Attr(t.text == "true");
        }
        if (t.text == "inf") {
          next();
          return Attr(std::numeric_limits<double>::infinity());
        }
        if (t.text == "nan") {
          next();
          return Attr(std::numeric_limits<double>::quiet_NaN());
        }
        if (t.text != "ptr" && t.text != "tile" && !parse_dtype(t.text)) error("an attribute value");
        return Attr(type());
      default: error("an attribute value");
    }
  }

  AttrMap attr_dict() {
    expect(Tok::LBrace, "'{'");
    AttrMap out;
    while (!at(Tok::RBrace)) {
      if (!out.empty()) expect(Tok::Comma, "',' or '}' in an attribute dict");
      if (!at(Tok::Ident) && !at(Tok::String)) error("an attribute name");
      const Token& key = next();
      expect(Tok::Equal, "'=' after the attribute name");
      if (!out.emplace(key.text, attr()).second) error_at(key, "attribute '" + key.text + "' is given twice");
    }
    next();
    return out;
  }

  Location loc() {
    Location l;
    if (!at_keyword("loc")) return l;
    next();
    expect(Tok::LParen, "'(' after 'loc'");
    l.file = expect(Tok::String, "a file name string").text;
    expect(Tok::Colon, "':' after the file name");
    const Token& line = expect(Tok::Int, "a line number");
    if (line.ival < 1 || line.ival > 2147483647) error_at(line, "line number out of range: " + line.raw);
    l.line = int(line.ival);
    expect(Tok::RParen, "')'");
    return l;
  }

  // ---- structure ----

  // `( %a: T, ... )` as block arguments.
  void block_args(Block& b, std::vector<std::string>& scope) {
    expect(Tok::LParen, "'('");
    while (!at(Tok::RParen)) {
      if (!b.args.empty()) expect(Tok::Comma, "',' or ')' in an argument list");
      const Token& name = expect(Tok::ValueRef, "an argument (%name: type)");
      expect(Tok::Colon, "':' after the argument name");
      define(name, b.add_arg(type()), scope);
    }
    next();
  }

  void function(Module& m) {
    next();  // func
    const Token& name = expect(Tok::Symbol, "a function name (@name)");
    if (m.find(name.text)) error_at(name, "function @" + name.text + " is defined twice");
    Function* f = m.add_function(name.text);
    defined_.clear();
    visible_.clear();
    pending_.clear();
    std::vector<std::string> scope;
    block_args(f->body, scope);
    if (at(Tok::Arrow)) {
      next();
      expect(Tok::LParen, "'(' after '->'");
      if (!at(Tok::RParen)) f->result_types = type_list();
      expect(Tok::RParen, "',' or ')' after the result types");
    }
    if (at_keyword("attributes")) {
      next();
      f->attrs = attr_dict();
    }
    f->loc = loc();
    expect(Tok::LBrace, "'{' to open the function body");
    ops(f->body, scope);
  }

  // Ops up to and including the closing '}'.
  void ops(Block& b, std::vector<std::string>& scope) {
    while (!at(Tok::RBrace)) {
      if (at(Tok::Eof)) error("an op or '}'");
      operation(b, scope);
    }
    next();
  }

  void operation(Block& b, std::vector<std::string>& scope) {
    std::vector<const Token*> defs;
    if (at(Tok::ValueRef)) {
      defs.push_back(&next());
      while (at(Tok::Comma)) {
        next();
        defs.push_back(&expect(Tok::ValueRef, "a result name (%name)"));
      }
      expect(Tok::Equal, "'=' after the result names");
    }
    if (!at(Tok::Ident)) error("an op name");
    const Token& name = next();
    expect(Tok::LParen, "'(' after the op name");
    std::vector<Value*> operands;
    while (!at(Tok::RParen)) {
      if (!operands.empty()) expect(Tok::Comma, "',' or ')' in the operand list");
      operands.push_back(use(expect(Tok::ValueRef, "an operand (%name)")));
    }
    next();
    AttrMap attrs;
    if (at(Tok::LBrace) && peek(1).kind != Tok::Caret) attrs = attr_dict();
    std::vector<Type> types;
    const Token& colon = cur();
    if (at(Tok::Colon)) {
      next();
      types = type_list();
    }
    if (types.size() != defs.size())
      error_at(defs.empty() ? colon : *defs[0], "op '" + name.text + "' defines " + std::to_string(defs.size()) +
                                                    " result(s) but lists " + std::to_string(types.size()) +
                                                    " result type(s)");
    Location l = loc();
    Op* op = b.append(Op::make(name.text, std::move(operands), types, std::move(attrs), std::move(l)));
    // Results are numbered before the region's values but become visible only after it.
    for (size_t i = 0; i < defs.size(); ++i) claim(*defs[i]);
    if (at(Tok::LBrace)) region(*op);
    for (size_t i = 0; i < defs.size(); ++i) define(*defs[i], op->result(int(i)), scope);
  }

  void region(Op& op) {
    const Token& open = next();  // {
    if (++depth_ > kMaxRegionDepth)
      error_at(open, "regions nested more than " + std::to_string(kMaxRegionDepth) + " deep");
    expect(Tok::Caret, "'^(' to start the region");
    std::vector<std::string> scope;
    Block* b = op.add_region();
    block_args(*b, scope);
    expect(Tok::Colon, "':' after the region arguments");
    ops(*b, scope);
    for (const auto& n : scope) visible_.erase(n);
    --depth_;
  }
};

}  // namespace

std::unique_ptr<Module> parse(const std::string& text, const std::string& source_name) {
  return Parser(lex(text, source_name), source_name).module();
}

Type parse_type(const std::string& text) { return Parser(lex(text, "<type>"), "<type>").standalone_type(); }

AttrMap parse_attrs(const std::string& text) {
  return Parser(lex("{" + text + "}", "<attributes>"), "<attributes>").standalone_attrs();
}

}  // namespace tessera::ir
