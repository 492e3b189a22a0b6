#include "ir/sharding.hpp"

#include <algorithm>
#include <cctype>

namespace tessera::ir {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  return out;
}

bool is_name(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

[[noreturn]] void bad(const std::string& what, const std::string& text, const std::string& why) {
  fail(ErrorCode::Value, "malformed " + what + " '" + text + "': " + why);
}

}  // namespace

int64_t Mesh::size(const std::string& axis) const {
  for (const Axis& a : axes)
    if (a.name == axis) return a.size;
  fail(ErrorCode::Value, "mesh " + str() + " has no axis '" + axis + "'");
}

std::string Mesh::str() const {
  std::string s = "@" + key + "[";
  for (size_t i = 0; i < axes.size(); ++i) s += (i ? ", " : "") + axes[i].name + "=" + std::to_string(axes[i].size);
  return s + "]";
}

Mesh Mesh::parse(const std::string& text) {
  std::string t = trim(text);
  size_t open = t.find('[');
  if (t.empty() || t[0] != '@' || open == std::string::npos || t.back() != ']')
    bad("mesh", text, "expected @key[axis=size, ...]");
  Mesh m;
  m.key = t.substr(1, open - 1);
  if (m.key.empty()) bad("mesh", text, "the key is empty");
  for (const std::string& part : split(t.substr(open + 1, t.size() - open - 2), ',')) {
    size_t eq = part.find('=');
    if (eq == std::string::npos) bad("mesh", text, "axis '" + part + "' has no size");
    Axis a{trim(part.substr(0, eq)), 0};
    std::string n = trim(part.substr(eq + 1));
    if (!is_name(a.name)) bad("mesh", text, "'" + a.name + "' is not an axis name");
    if (n.empty() || !std::all_of(n.begin(), n.end(), ::isdigit) || n.size() > 9)
      bad("mesh", text, "axis " + a.name + " has size '" + n + "'");
    a.size = std::stoll(n);
    if (a.size < 1) bad("mesh", text, "axis " + a.name + " has size 0");
    for (const Axis& b : m.axes)
      if (b.name == a.name) bad("mesh", text, "axis " + a.name + " appears twice");
    m.axes.push_back(a);
  }
  return m;
}

std::optional<Mesh> Mesh::of(const Module& m) {
  auto it = m.attrs.find("mesh");
  if (it == m.attrs.end()) return std::nullopt;
  const auto* s = std::get_if<std::string>(&it->second);
  if (!s) fail(ErrorCode::Value, "the module's mesh attribute must be a string");
  return parse(*s);
}

bool Sharding::is_replicated() const {
  return partial.empty() && std::all_of(dims.begin(), dims.end(), [](const std::string& d) { return d.empty(); });
}

bool Sharding::uses(const std::string& axis) const {
  return dim_of(axis) >= 0 || std::find(partial.begin(), partial.end(), axis) != partial.end();
}

int Sharding::dim_of(const std::string& axis) const {
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] == axis) return int(i);
  return -1;
}

std::string Sharding::str() const {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + (dims[i].empty() ? std::string("-") : dims[i]);
  s += "]";
  if (!partial.empty()) {
    s += " " + reduce + "(";
    for (size_t i = 0; i < partial.size(); ++i) s += (i ? ", " : "") + partial[i];
    s += ")";
  }
  return s;
}

Sharding Sharding::parse(const std::string& text, const Mesh& mesh, int64_t rank) {
  std::string t = trim(text);
  size_t close = t.find(']');
  if (t.empty() || t[0] != '[' || close == std::string::npos) bad("sharding", text, "expected [axis or -, ...]");
  Sharding s;
  std::string inner = trim(t.substr(1, close - 1));
  if (!inner.empty())
    for (const std::string& d : split(inner, ',')) {
      if (d != "-" && !is_name(d)) bad("sharding", text, "'" + d + "' is not a mesh axis or -");
      s.dims.push_back(d == "-" ? "" : d);
    }
  std::string rest = trim(t.substr(close + 1));
  if (!rest.empty()) {
    size_t open = rest.find('(');
    if (open == std::string::npos || rest.back() != ')') bad("sharding", text, "expected sum(axes) after the dims");
    s.reduce = trim(rest.substr(0, open));
    if (s.reduce != "sum" && s.reduce != "max" && s.reduce != "min")
      bad("sharding", text, "the pending reduction must be sum, max or min, not '" + s.reduce + "'");
    for (const std::string& a : split(rest.substr(open + 1, rest.size() - open - 2), ',')) s.partial.push_back(a);
  }
  if (rank >= 0 && int64_t(s.dims.size()) != rank)
    bad("sharding", text, "it has " + std::to_string(s.dims.size()) + " dims, the value " + std::to_string(rank));
  std::vector<std::string> seen;
  auto check_axis = [&](const std::string& a) {
    if (a.empty()) return;
    mesh.size(a);  // throws for an unknown axis
    if (std::find(seen.begin(), seen.end(), a) != seen.end()) bad("sharding", text, "axis " + a + " is used twice");
    seen.push_back(a);
  };
  for (const std::string& d : s.dims) check_axis(d);
  for (const std::string& a : s.partial) check_axis(a);
  // Partial axes in mesh order, so equal shardings print alike.
  std::vector<std::string> ordered;
  for (const Mesh::Axis& a : mesh.axes)
    if (std::find(s.partial.begin(), s.partial.end(), a.name) != s.partial.end()) ordered.push_back(a.name);
  s.partial = ordered;
  return s;
}

std::vector<Dim> Sharding::local_shape(const std::vector<Dim>& global, const Mesh& mesh,
                                       const std::string& what) const {
  std::vector<Dim> out = global;
  for (size_t i = 0; i < dims.size() && i < global.size(); ++i) {
    if (dims[i].empty()) continue;
    const int64_t n = mesh.size(dims[i]);
    if (!global[i].is_static())
      fail(ErrorCode::Shape, what + ": dim " + std::to_string(i) + " (" + global[i].sym +
                                 ") is symbolic; a dim split over mesh axis " + dims[i] + " needs a static size");
    if (global[i].size % n != 0)
      fail(ErrorCode::Shape, what + ": dim " + std::to_string(i) + " of size " + std::to_string(global[i].size) +
                                 " does not divide over mesh axis " + dims[i] + " of size " + std::to_string(n));
    out[i] = Dim::of(global[i].size / n);
  }
  return out;
}

std::vector<std::string> split_shardings(const std::string& text) {
  if (trim(text).empty()) return {};  // a function without parameters
  return split(text, ';');
}

bool deterministic(const Module& m) {
  auto it = m.attrs.find("deterministic");
  return it != m.attrs.end() && std::holds_alternative<bool>(it->second) && std::get<bool>(it->second);
}

std::string join_shardings(const std::vector<Sharding>& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "; " : "") + s[i].str();
  return out;
}

}  // namespace tessera::ir
