// Errors thrown by Tessera's C++ code. Each carries a code that the Python layer maps to a
// tessera.TesseraError subclass, a plain message, and (when known) the user's source line.
#pragma once
#include <stdexcept>
#include <string>

namespace tessera {

enum class ErrorCode {
  Value,     // bad argument value          -> tessera.TesseraError (ValueError)
  Shape,     // shapes do not fit           -> tessera.ShapeError
  DType,     // dtypes do not fit           -> tessera.DTypeError
  Device,    // device missing / unusable   -> tessera.DeviceError
  Parse,     // malformed IR text           -> tessera.ParseError
  Verify,    // IR breaks an invariant      -> tessera.VerifyError
  Compile,   // cannot compile for a target -> tessera.CompileError
  Runtime,   // a launch or copy failed     -> tessera.RuntimeError_
  Internal,  // a bug in Tessera
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string location = {})
      : std::runtime_error(location.empty() ? message : message + " at " + location),
        code_(code),
        message_(message),
        location_(std::move(location)) {}
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& location() const { return location_; }

 private:
  ErrorCode code_;
  std::string message_;
  std::string location_;
};

[[noreturn]] inline void fail(ErrorCode code, const std::string& message, std::string location = {}) {
  throw Error(code, message, std::move(location));
}

inline const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Value: return "ValueError";
    case ErrorCode::Shape: return "ShapeError";
    case ErrorCode::DType: return "DTypeError";
    case ErrorCode::Device: return "DeviceError";
    case ErrorCode::Parse: return "ParseError";
    case ErrorCode::Verify: return "VerifyError";
    case ErrorCode::Compile: return "CompileError";
    case ErrorCode::Runtime: return "RuntimeError";
    case ErrorCode::Internal: return "InternalError";
  }
  return "Error";
}

}  // namespace tessera
