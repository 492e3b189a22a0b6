// Exported program files (artifact.hpp): writing, checked reading, and loading for a device.
#include "runtime/artifact.hpp"

#include <set>

#include "runtime/bytes.hpp"

namespace tessera::artifact {
namespace {

constexpr char kMagic[16] = "TESSERA-PROGRAM";  // 15 characters and the NUL

// ---- writing ----

void put_ints(bytes::Writer& w, const std::vector<int64_t>& v) {
  w.num<uint64_t>(v.size());
  for (int64_t x : v) w.num(x);
}

void put_slots(bytes::Writer& w, const std::vector<int>& v) {
  w.num<uint64_t>(v.size());
  for (int x : v) w.num<int32_t>(x);
}

void put_type(bytes::Writer& w, const TensorType& t) {
  w.num<uint8_t>(uint8_t(t.dtype));
  put_ints(w, t.shape);
}

void put_types(bytes::Writer& w, const std::vector<TensorType>& v) {
  w.num<uint64_t>(v.size());
  for (const TensorType& t : v) put_type(w, t);
}

void put_strs(bytes::Writer& w, const std::vector<std::string>& v) {
  w.num<uint64_t>(v.size());
  for (const std::string& s : v) w.str(s);
}

void put_step(bytes::Writer& w, const Step& s) {
  w.num<uint8_t>(uint8_t(s.kind));
  w.num<int32_t>(s.slot);
  w.num<int32_t>(s.view_of);
  put_type(w, s.type);
  w.str(s.kernel_name);
  put_slots(w, s.args);
  for (int i = 0; i < 3; ++i) w.num(s.config.grid[i]);
  for (int i = 0; i < 3; ++i) w.num(s.config.block[i]);
  w.num(s.config.shared_bytes);
  put_ints(w, s.tensor_maps);
  w.num(s.flops);
  w.str(s.message);
  w.str(s.op);
  put_strs(w, s.callees);
  put_slots(w, s.results);
  put_types(w, s.result_types);
  w.num(s.length);
  w.num(s.n_carry);
  w.num(s.n_xs);
  w.num<uint8_t>(s.reverse);
  w.str(s.loc);
  w.str(s.group);
  w.str(s.reduce);
  w.num(s.group_size);
  put_ints(w, s.ints);
}

void put_plan(bytes::Writer& w, const Plan& p) {
  w.str(p.name);
  w.num<int32_t>(p.num_slots);
  put_types(w, p.input_types);
  put_slots(w, p.output_slots);
  put_types(w, p.output_types);
  w.num<uint64_t>(p.steps.size());
  for (const Step& s : p.steps) put_step(w, s);
  put_ints(w, p.arena_offset);
  w.num(p.arena_bytes);
}

std::string program_section(const Contents& c) {
  bytes::Writer w;
  w.str(c.target);
  w.str(c.compiler);
  put_strs(w, c.cpu_features);
  w.num<uint64_t>(c.plans.size());
  for (const Plan& p : c.plans) put_plan(w, p);
  w.num(c.num_inputs);
  w.str(c.metadata);
  return w.out();
}

std::string kernels_section(const Contents& c) {
  bytes::Writer w;
  w.num<uint64_t>(c.images.size());
  for (const KernelImage& k : c.images) {
    put_strs(w, k.kernel_names);
    put_slots(w, k.kernel_params);
    w.str(k.bytes);
  }
  return w.out();
}

std::string constants_section(const Contents& c) {
  bytes::Writer w;
  w.num<uint64_t>(c.constants.size());
  for (const Array& a : c.constants) {
    put_type(w, {a.dtype, a.shape});
    Array host = a.to(Device{});
    w.str(std::string(static_cast<const char*>(host.data()), host.nbytes()));
  }
  return w.out();
}

// ---- reading: every failure names the file and what is wrong ----

struct In {
  bytes::Reader r;
  const std::string& source;
  const char* section;
  [[noreturn]] void bad(const std::string& what) const {
    fail(ErrorCode::Value, source + ": malformed '" + section + "' section: " + what);
  }
  template <class T>
  T num() {
    T v{};
    if (!r.num(v)) bad("it ends early");
    return v;
  }
  std::string str() {
    std::string s;
    if (!r.str(s)) bad("it ends early");
    return s;
  }
  // A count of items, each at least `min_bytes` long: refuses counts the rest cannot hold.
  size_t count(size_t min_bytes) {
    uint64_t n = num<uint64_t>();
    if (n > r.remaining() / std::max<size_t>(min_bytes, 1)) bad("a count of " + std::to_string(n) + " is too large");
    return size_t(n);
  }
  std::vector<int64_t> ints() {
    std::vector<int64_t> v(count(8));
    for (int64_t& x : v) x = num<int64_t>();
    return v;
  }
  std::vector<int> slots() {
    std::vector<int> v(count(4));
    for (int& x : v) x = num<int32_t>();
    return v;
  }
  TensorType type() {
    uint8_t d = num<uint8_t>();
    if (d > uint8_t(DType::Bool)) bad("unknown dtype code " + std::to_string(d));
    TensorType t{DType(d), ints()};
    for (int64_t n : t.shape)
      if (n < 0) bad("a negative dim");
    return t;
  }
  std::vector<TensorType> types() {
    std::vector<TensorType> v(count(9));
    for (TensorType& t : v) t = type();
    return v;
  }
  std::vector<std::string> strs() {
    std::vector<std::string> v(count(8));
    for (std::string& s : v) s = str();
    return v;
  }
};

Step get_step(In& in) {
  Step s;
  uint8_t kind = in.num<uint8_t>();
  if (kind > uint8_t(Step::Collective)) in.bad("unknown step kind " + std::to_string(kind));
  s.kind = Step::Kind(kind);
  s.slot = in.num<int32_t>();
  s.view_of = in.num<int32_t>();
  s.type = in.type();
  s.kernel_name = in.str();
  s.args = in.slots();
  for (int i = 0; i < 3; ++i) s.config.grid[i] = in.num<uint32_t>();
  for (int i = 0; i < 3; ++i) s.config.block[i] = in.num<uint32_t>();
  s.config.shared_bytes = in.num<uint32_t>();
  s.tensor_maps = in.ints();
  s.flops = in.num<int64_t>();
  s.message = in.str();
  s.op = in.str();
  s.callees = in.strs();
  s.results = in.slots();
  s.result_types = in.types();
  s.length = in.num<int64_t>();
  s.n_carry = in.num<int64_t>();
  s.n_xs = in.num<int64_t>();
  s.reverse = in.num<uint8_t>() != 0;
  s.loc = in.str();
  s.group = in.str();
  s.reduce = in.str();
  s.group_size = in.num<int64_t>();
  s.ints = in.ints();
  return s;
}

Plan get_plan(In& in) {
  Plan p;
  p.name = in.str();
  p.num_slots = in.num<int32_t>();
  p.input_types = in.types();
  p.output_slots = in.slots();
  p.output_types = in.types();
  size_t n = in.count(16);
  for (size_t i = 0; i < n; ++i) {
    p.steps.push_back(get_step(in));
    const Step& s = p.steps.back();
    if (s.has_work()) ++p.launches;
    if (s.kind == Step::Control || s.kind == Step::Collective) p.has_control = true;
  }
  p.arena_offset = in.ints();
  p.arena_bytes = in.num<int64_t>();
  return p;
}

void read_program(const std::string& payload, const std::string& source, Contents& c) {
  In in{bytes::Reader(payload), source, "program"};
  c.target = in.str();
  c.compiler = in.str();
  c.cpu_features = in.strs();
  size_t n = in.count(16);
  if (n == 0) in.bad("no plans");
  for (size_t i = 0; i < n; ++i) c.plans.push_back(get_plan(in));
  c.num_inputs = in.num<int32_t>();
  c.metadata = in.str();
  if (!in.r.done()) in.bad("bytes after its end");
  const Plan& entry = c.plans.front();
  if (c.num_inputs < 0 || size_t(c.num_inputs) > entry.input_types.size()) in.bad("bad input count");
}

void read_kernels(const std::string& payload, const std::string& source, Contents& c) {
  In in{bytes::Reader(payload), source, "kernels"};
  size_t n = in.count(16);
  for (size_t i = 0; i < n; ++i) {
    KernelImage k;
    k.kernel_names = in.strs();
    k.kernel_params = in.slots();
    if (k.kernel_params.size() != k.kernel_names.size()) in.bad("kernel names and parameter counts differ");
    k.bytes = in.str();
    c.images.push_back(std::move(k));
  }
  if (!in.r.done()) in.bad("bytes after its end");
}

void read_constants(const std::string& payload, const std::string& source, Contents& c) {
  In in{bytes::Reader(payload), source, "constants"};
  size_t n = in.count(17);
  for (size_t i = 0; i < n; ++i) {
    TensorType t = in.type();
    std::string data = in.str();
    if (int64_t(data.size()) != t.bytes())
      in.bad("constant " + std::to_string(i) + " (" + t.str() + ") holds " + std::to_string(data.size()) + " bytes");
    Array a = Array::empty(Device{}, t.dtype, t.shape);
    std::copy(data.begin(), data.end(), static_cast<char*>(a.data()));
    c.constants.push_back(std::move(a));
  }
  if (!in.r.done()) in.bad("bytes after its end");
}

std::string types_str(const std::vector<TensorType>& types, size_t begin, size_t end) {
  std::string s;
  for (size_t i = begin; i < end; ++i) s += (i > begin ? ", " : "") + types[i].str();
  return s.empty() ? "(none)" : s;
}

}  // namespace

std::string manifest(const Contents& c) {
  const Plan& entry = c.plans.front();
  size_t kernels = 0;
  for (const KernelImage& k : c.images) kernels += k.kernel_names.size();
  std::string s = "format: " + std::to_string(kFormat) + "\ntarget: " + c.target + "\ncompiler: " + c.compiler + "\n";
  if (!c.cpu_features.empty()) {
    s += "cpu-features:";
    for (const std::string& f : c.cpu_features) s += " " + f;
    s += "\n";
  }
  s += "inputs: " + types_str(entry.input_types, 0, size_t(c.num_inputs)) + "\n";
  s += "outputs: " + types_str(entry.output_types, 0, entry.output_types.size()) + "\n";
  s += "constants: " + types_str(entry.input_types, size_t(c.num_inputs), entry.input_types.size()) + "\n";
  s += "kernels: " + std::to_string(kernels) + "\nplans: " + std::to_string(c.plans.size()) + "\n";
  return s;
}

std::string write(const Contents& c) {
  const std::pair<const char*, std::string> sections[] = {
      {"manifest", manifest(c)},
      {"program", program_section(c)},
      {"kernels", kernels_section(c)},
      {"constants", constants_section(c)},
  };
  bytes::Writer w;
  w.out().append(kMagic, sizeof kMagic);
  w.num<uint32_t>(kFormat);
  w.num<uint32_t>(uint32_t(std::size(sections)));
  for (const auto& [name, payload] : sections) {
    w.str(name);
    w.num<uint64_t>(bytes::fnv1a(payload));
    w.str(payload);
  }
  return w.out();
}

Contents read(const std::string& file, const std::string& source) {
  if (file.size() < sizeof kMagic || file.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0)
    fail(ErrorCode::Value, source + ": not an exported Tessera program (it does not start with " +
                               "'TESSERA-PROGRAM'; tessera.export writes these files)");
  bytes::Reader r(file.data() + sizeof kMagic, file.size() - sizeof kMagic);
  uint32_t format = 0, count = 0;
  if (!r.num(format) || !r.num(count)) fail(ErrorCode::Value, source + ": truncated: the file ends inside its header");
  if (format > kFormat || format == 0)
    fail(ErrorCode::Value, source + ": written in program format " + std::to_string(format) +
                               ", but this Tessera runtime reads formats up to " + std::to_string(kFormat) +
                               ": load it with a newer Tessera, or export it again with this one");
  Contents c;
  std::set<std::string> seen;
  for (uint32_t i = 0; i < count; ++i) {
    std::string name, payload;
    uint64_t sum = 0;
    if (!r.str(name) || !r.num(sum) || !r.str(payload))
      fail(ErrorCode::Value, source + ": truncated: the file ends inside section " + std::to_string(i + 1) + " of " +
                                 std::to_string(count) + (name.empty() ? "" : " ('" + name + "')") + " (" +
                                 std::to_string(file.size()) + " bytes)");
    if (bytes::fnv1a(payload) != sum)
      fail(ErrorCode::Value, source + ": corrupted: section '" + name + "' does not match its checksum");
    if (!seen.insert(name).second) fail(ErrorCode::Value, source + ": malformed: two '" + name + "' sections");
    if (name == "program") read_program(payload, source, c);
    if (name == "kernels") read_kernels(payload, source, c);
    if (name == "constants") read_constants(payload, source, c);
  }
  if (!r.done()) fail(ErrorCode::Value, source + ": corrupted: bytes after its last section");
  for (const char* need : {"program", "kernels", "constants"})
    if (!seen.count(need)) fail(ErrorCode::Value, source + ": malformed: it has no '" + need + "' section");
  const Plan& entry = c.plans.front();
  if (c.constants.size() != entry.input_types.size() - size_t(c.num_inputs))
    fail(ErrorCode::Value, source + ": malformed: the entry takes " + std::to_string(entry.input_types.size()) +
                               " inputs, " + std::to_string(c.num_inputs) + " from the caller and " +
                               std::to_string(c.constants.size()) + " constants");
  for (size_t i = 0; i < c.constants.size(); ++i)
    if (!(TensorType{c.constants[i].dtype, c.constants[i].shape} == entry.input_types[size_t(c.num_inputs) + i]))
      fail(ErrorCode::Value, source + ": malformed: constant " + std::to_string(i) + " does not match its input");
  check_program(c, source);
  return c;
}

}  // namespace tessera::artifact
