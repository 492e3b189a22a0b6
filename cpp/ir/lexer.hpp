// Tokens of the IR text (see parser.cpp for the grammar). Internal to the parser.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::ir {

enum class Tok : uint8_t {
  Ident,     // matmul  tile.for  f32  N  true
  ValueRef,  // %x  %0           (text: the name without '%')
  Symbol,    // @main  @"a b"    (text: the name without '@')
  Int,       // 3  -1
  Float,     // 0.5  1e-05  -2.0
  String,    // "a\"b"           (text: the decoded contents)
  LParen,
  RParen,
  LBrace,
  RBrace,
  LBracket,
  RBracket,
  Less,
  Greater,
  Comma,
  Colon,
  Equal,
  Arrow,
  Caret,
  Question,
  Minus,
  Eof,
};

struct Token {
  Tok kind = Tok::Eof;
  std::string text;  // identifier / name / decoded string
  std::string raw;   // the characters as written (for error messages)
  int64_t ival = 0;
  double fval = 0;
  int line = 1, col = 1;
};

// Splits `src` into tokens ending with one Eof token; skips whitespace and `//` comments.
// Throws tessera::Error(ErrorCode::Parse) "<source>:<line>:<col>: ..." on a malformed token.
std::vector<Token> lex(const std::string& src, const std::string& source_name);

// "identifier 'foo'", "'('", "end of input": how an error message names a token.
std::string describe(const Token& t);

bool is_ident_start(char c);
bool is_ident_char(char c);

}  // namespace tessera::ir
