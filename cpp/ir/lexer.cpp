// The IR text lexer: characters -> tokens, with line and column for error messages.
#include "ir/lexer.hpp"

#include <charconv>
#include <cstdio>

#include "common/error.hpp"

namespace tessera::ir {

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static std::string char_str(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", u);
    return buf;
  }
  return std::string(1, c);
}

std::string describe(const Token& t) {
  std::string raw = t.raw.size() > 40 ? t.raw.substr(0, 40) + "..." : t.raw;
  std::string shown;
  for (char c : raw) shown += char_str(c);
  switch (t.kind) {
    case Tok::Ident: return "identifier '" + shown + "'";
    case Tok::ValueRef: return "value '" + shown + "'";
    case Tok::Symbol: return "symbol '" + shown + "'";
    case Tok::Int: return "integer " + shown;
    case Tok::Float: return "float " + shown;
    case Tok::String: return "string " + shown;
    case Tok::Eof: return "end of input";
    default: return "'" + shown + "'";
  }
}

namespace {

class Lexer {
 public:
  Lexer(const std::string& src, const std::string& name) : s_(src), name_(name) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    for (;;) {
      skip_space();
      Token t;
      t.line = line_;
      t.col = col();
      size_t start = i_;
      if (i_ >= s_.size()) {
        out.push_back(t);
        return out;
      }
      lex_one(t);
      t.raw = s_.substr(start, i_ - start);
      out.push_back(std::move(t));
    }
  }

 private:
  const std::string& s_;
  const std::string& name_;
  size_t i_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;

  int col() const { return int(i_ - line_start_) + 1; }
  char peek(size_t k = 0) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }

  [[noreturn]] void error(int line, int col, const std::string& what) const {
    fail(ErrorCode::Parse, name_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }

  void skip_space() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\n') {
        ++i_;
        ++line_;
        line_start_ = i_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++i_;
      } else if (c == '/' && peek(1) == '/') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else {
        return;
      }
    }
  }

  std::string ident_run() {
    size_t start = i_;
    while (i_ < s_.size() && is_ident_char(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }

  void lex_one(Token& t) {
    char c = peek();
    auto punct = [&](Tok k, size_t n = 1) {
      t.kind = k;
      i_ += n;
    };
    switch (c) {
      case '(': return punct(Tok::LParen);
      case ')': return punct(Tok::RParen);
      case '{': return punct(Tok::LBrace);
      case '}': return punct(Tok::RBrace);
      case '[': return punct(Tok::LBracket);
      case ']': return punct(Tok::RBracket);
      case '<': return punct(Tok::Less);
      case '>': return punct(Tok::Greater);
      case ',': return punct(Tok::Comma);
      case ':': return punct(Tok::Colon);
      case '=': return punct(Tok::Equal);
      case '^': return punct(Tok::Caret);
      case '?': return punct(Tok::Question);
      case '"':
        t.kind = Tok::String;
        t.text = string_body();
        return;
      case '%': return value_ref(t);
      case '@': return symbol(t);
      case '-':
        if (peek(1) == '>') return punct(Tok::Arrow, 2);
        if (is_digit(peek(1))) return number(t);
        return punct(Tok::Minus);
      default: break;
    }
    if (is_digit(c)) return number(t);
    if (is_ident_start(c)) {
      t.kind = Tok::Ident;
      t.text = ident_run();
      return;
    }
    error(line_, col(), "unexpected character '" + char_str(c) + "'");
  }

  void value_ref(Token& t) {
    int c0 = col();
    ++i_;
    std::string name = ident_run();
    bool number = !name.empty() && is_digit(name[0]);
    bool ok = !name.empty();
    for (char ch : name) ok = ok && (number ? is_digit(ch) : true);
    if (!ok)
      error(line_, c0,
            "expected a value name (%identifier or %number) after '%'" +
                (name.empty() ? std::string() : ", found '%" + name + "'"));
    t.kind = Tok::ValueRef;
    t.text = name;
  }

  void symbol(Token& t) {
    int c0 = col();
    ++i_;
    t.kind = Tok::Symbol;
    if (peek() == '"') {
      t.text = string_body();
    } else if (is_ident_start(peek())) {
      t.text = ident_run();
    } else {
      error(line_, c0, "expected a name (@identifier or @\"string\") after '@'");
    }
  }

  void number(Token& t) {
    int c0 = col();
    size_t start = i_;
    if (peek() == '-') ++i_;
    while (is_digit(peek())) ++i_;
    bool is_float = false;
    if (peek() == '.' && is_digit(peek(1))) {
      is_float = true;
      ++i_;
      while (is_digit(peek())) ++i_;
    }
    if (peek() == 'e' || peek() == 'E') {
      size_t k = 1;
      if (peek(1) == '+' || peek(1) == '-') ++k;
      if (is_digit(peek(k))) {
        is_float = true;
        i_ += k;
        while (is_digit(peek())) ++i_;
      }
    }
    if (is_ident_char(peek()))
      error(line_, c0, "malformed number '" + s_.substr(start, i_ - start) + char_str(peek()) + "'");
    const char* b = s_.data() + start;
    const char* e = s_.data() + i_;
    if (is_float) {
      t.kind = Tok::Float;
      auto r = std::from_chars(b, e, t.fval);
      if (r.ec != std::errc() || r.ptr != e)
        error(line_, c0, "float literal " + std::string(b, e) + " is out of range");
    } else {
      t.kind = Tok::Int;
      auto r = std::from_chars(b, e, t.ival);
      if (r.ec != std::errc() || r.ptr != e)
        error(line_, c0, "integer literal " + std::string(b, e) + " does not fit in 64 bits");
    }
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // At the opening quote; returns the decoded contents and leaves i_ after the closing quote.
  std::string string_body() {
    int l0 = line_, c0 = col();
    ++i_;
    std::string out;
    for (;;) {
      if (i_ >= s_.size() || s_[i_] == '\n') error(l0, c0, "unterminated string (missing closing '\"')");
      char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      int ec = col() - 1;
      if (i_ >= s_.size() || s_[i_] == '\n') error(l0, c0, "unterminated string (missing closing '\"')");
      char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'x': {
          int hi = hex_digit(peek()), lo = hex_digit(peek(1));
          if (hi < 0 || lo < 0) error(line_, ec, "expected two hex digits after '\\x' in string");
          out += char(hi * 16 + lo);
          i_ += 2;
          break;
        }
        default: error(line_, ec, "unknown escape sequence '\\" + char_str(e) + "' in string");
      }
    }
  }
};

}  // namespace

std::vector<Token> lex(const std::string& src, const std::string& source_name) { return Lexer(src, source_name).run(); }

}  // namespace tessera::ir
