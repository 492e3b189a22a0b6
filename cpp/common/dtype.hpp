// Element types shared by the IRs, the runtime arrays and DLPack.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessera {

enum class DType : uint8_t { F64, F32, F16, BF16, I64, I32, I8, U8, Bool };

constexpr DType kAllDTypes[] = {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                                DType::I32, DType::I8,  DType::U8,  DType::Bool};

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F64: return "f64";
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::I64: return "i64";
    case DType::I32: return "i32";
    case DType::I8: return "i8";
    case DType::U8: return "u8";
    case DType::Bool: return "bool";
  }
  return "?";
}

// Accepts the short names ("f32") and the long ones ("float32").
inline std::optional<DType> parse_dtype(std::string_view s) {
  struct Alias {
    const char* name;
    DType t;
  };
  static const Alias aliases[] = {
      {"f64", DType::F64},   {"float64", DType::F64}, {"f32", DType::F32},   {"float32", DType::F32},
      {"f16", DType::F16},   {"float16", DType::F16}, {"bf16", DType::BF16}, {"bfloat16", DType::BF16},
      {"i64", DType::I64},   {"int64", DType::I64},   {"i32", DType::I32},   {"int32", DType::I32},
      {"i8", DType::I8},     {"int8", DType::I8},     {"u8", DType::U8},     {"uint8", DType::U8},
      {"bool", DType::Bool},
  };
  for (const auto& a : aliases)
    if (s == a.name) return a.t;
  return std::nullopt;
}

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F64:
    case DType::I64: return 8;
    case DType::F32:
    case DType::I32: return 4;
    case DType::F16:
    case DType::BF16: return 2;
    case DType::I8:
    case DType::U8:
    case DType::Bool: return 1;
  }
  return 0;
}

inline bool is_float(DType t) { return t == DType::F64 || t == DType::F32 || t == DType::F16 || t == DType::BF16; }
inline bool is_signed_int(DType t) { return t == DType::I64 || t == DType::I32 || t == DType::I8; }
inline bool is_integer(DType t) { return is_signed_int(t) || t == DType::U8; }

}  // namespace tessera
