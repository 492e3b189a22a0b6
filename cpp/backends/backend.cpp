// Dispatches a Tile IR module to the code generator of its target.
#include "backends/backend.hpp"

#include "backends/llvm/codegen.hpp"

namespace tessera::backends {

namespace {
constexpr char kPartsMagic[8] = {'T', 'S', 'R', 'P', 'A', 'R', 'T', 'S'};

void put_u64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}

uint64_t get_u64(const std::string& s, size_t& at) {
  if (at + 8 > s.size()) fail(ErrorCode::Internal, "compiled code: truncated multi-part image");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(s[at + size_t(i)])) << (8 * i);
  at += 8;
  return v;
}
bool is_encoded_parts(const std::string& binary) {
  return binary.compare(0, sizeof kPartsMagic, kPartsMagic, sizeof kPartsMagic) == 0;
}

}  // namespace

std::string encode_parts(const std::vector<CodePart>& parts) {
  std::string s(kPartsMagic, sizeof kPartsMagic);
  put_u64(s, parts.size());
  for (const CodePart& p : parts) {
    put_u64(s, p.kernels);
    put_u64(s, p.image.size());
    s += p.image;
  }
  return s;
}

std::vector<CodePart> decode_parts(const std::string& binary, size_t kernels) {
  if (!is_encoded_parts(binary)) return {{kernels, binary}};
  size_t at = sizeof kPartsMagic, total = 0;
  uint64_t count = get_u64(binary, at);
  if (count == 0 || count > kernels || count > (binary.size() - at) / 16)
    fail(ErrorCode::Internal, "compiled code: a multi-part image with a bad part count");
  std::vector<CodePart> parts(count);
  for (CodePart& p : parts) {
    p.kernels = get_u64(binary, at);
    uint64_t n = get_u64(binary, at);
    if (n > binary.size() - at) fail(ErrorCode::Internal, "compiled code: truncated multi-part image");
    p.image = binary.substr(at, n);
    at += n;
    total += p.kernels;
  }
  if (at != binary.size() || total != kernels)
    fail(ErrorCode::Internal, "compiled code: a multi-part image that does not match its kernels");
  return parts;
}

CompiledKernels compile_kernels(const ir::Module& tile_module, const ir::Target& target, bool assembly) {
  switch (target.kind) {
    // Code asked for to be read (assembly) stays one module: one PTX file that ptxas takes.
    case ir::TargetKind::Cpu: return compile_cpu(tile_module, target, assembly, assembly ? 1 : 0);
    case ir::TargetKind::Nvptx: return compile_nvptx(tile_module, target, assembly ? 1 : 0);
    case ir::TargetKind::Amdgpu: return compile_amdgpu(tile_module, target);
    case ir::TargetKind::Spirv: return compile_spirv(tile_module, target);
  }
  fail(ErrorCode::Compile, std::string("unknown target kind ") + target.kind_name());
}

}  // namespace tessera::backends
