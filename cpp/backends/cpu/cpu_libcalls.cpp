// Half-precision conversion routines that LLVM's x86 code calls (__truncsfhf2 and friends).
// They normally come from compiler-rt or libgcc, which a Python process may not export (and
// which Tessera links statically and hidden), so the CPU JIT gets Tessera's own, correctly
// rounded (round to nearest even) versions. `_Float16` carries the 16 bits in an SSE
// register, as the x86-64 ABI passes both half and bfloat16 values.
//
// Compiled a second time with TESSERA_AOT_LIBCALLS into a standalone object (CMakeLists.txt)
// that defines the routines under their ABI names, hidden: exported CPU programs link it into
// their shared object, so they carry their own conversions (cpu_link.cpp).
#include <cstring>

#include "backends/cpu/cpu_libcalls.hpp"
#include "common/half.hpp"

namespace tessera::backends {
namespace {

_Float16 bits(uint16_t b) {
  _Float16 h;
  std::memcpy(&h, &b, sizeof h);
  return h;
}

uint16_t unbits(_Float16 h) {
  uint16_t b;
  std::memcpy(&b, &h, sizeof b);
  return b;
}

extern "C" {
_Float16 tessera_truncsfhf2(float x) { return bits(float_to_half_bits(x)); }
_Float16 tessera_truncdfhf2(double x) { return bits(double_to_half_bits(x)); }
_Float16 tessera_truncsfbf2(float x) { return bits(float_to_bf16_bits(x)); }
_Float16 tessera_truncdfbf2(double x) { return bits(double_to_bf16_bits(x)); }
float tessera_extendhfsf2(_Float16 h) { return half_bits_to_float(unbits(h)); }
double tessera_extendhfdf2(_Float16 h) { return double(half_bits_to_float(unbits(h))); }
float tessera_extendbfsf2(_Float16 h) { return bf16_bits_to_float(unbits(h)); }
}

}  // namespace

#ifdef TESSERA_AOT_LIBCALLS
#define TSR_ALIAS(abi, ours, ret, arg) extern "C" __attribute__((alias(#ours))) ret abi(arg);
TSR_ALIAS(__truncsfhf2, tessera_truncsfhf2, _Float16, float)
TSR_ALIAS(__truncdfhf2, tessera_truncdfhf2, _Float16, double)
TSR_ALIAS(__truncsfbf2, tessera_truncsfbf2, _Float16, float)
TSR_ALIAS(__truncdfbf2, tessera_truncdfbf2, _Float16, double)
TSR_ALIAS(__extendhfsf2, tessera_extendhfsf2, float, _Float16)
TSR_ALIAS(__gnu_h2f_ieee, tessera_extendhfsf2, float, _Float16)
TSR_ALIAS(__extendhfdf2, tessera_extendhfdf2, double, _Float16)
TSR_ALIAS(__extendbfsf2, tessera_extendbfsf2, float, _Float16)
#else
std::vector<std::pair<const char*, void*> > half_conversion_libcalls() {
  return {{"__truncsfhf2", reinterpret_cast<void*>(&tessera_truncsfhf2)},
          {"__truncdfhf2", reinterpret_cast<void*>(&tessera_truncdfhf2)},
          {"__truncsfbf2", reinterpret_cast<void*>(&tessera_truncsfbf2)},
          {"__truncdfbf2", reinterpret_cast<void*>(&tessera_truncdfbf2)},
          {"__extendhfsf2", reinterpret_cast<void*>(&tessera_extendhfsf2)},
          {"__gnu_h2f_ieee", reinterpret_cast<void*>(&tessera_extendhfsf2)},
          {"__extendhfdf2", reinterpret_cast<void*>(&tessera_extendhfdf2)},
          {"__extendbfsf2", reinterpret_cast<void*>(&tessera_extendbfsf2)}};
}
#endif

}  // namespace tessera::backends
