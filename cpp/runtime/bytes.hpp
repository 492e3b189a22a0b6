// Little binary records: fixed-width integers and length-prefixed strings appended to a byte
// string, a reader that refuses to run past the end, and a checksum. The disk cache's program
// records and exported programs (artifact.cpp) are written with these.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace tessera::bytes {

class Writer {
 public:
  template <class T>
  void num(T v) {
    static_assert(std::is_arithmetic_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& s) {
    num<uint64_t>(s.size());
    out_ += s;
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

// 64-bit FNV-1a: the checksum of disk cache entries and exported program sections.
inline uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Every read returns false (and leaves `ok()` false) once the input is exhausted.
class Reader {
 public:
  Reader(const char* data, size_t size) : data_(data), size_(size) {}
  explicit Reader(const std::string& s) : Reader(s.data(), s.size()) {}
  template <class T>
  bool num(T& v) {
    static_assert(std::is_arithmetic_v<T>);
    if (!ok_ || size_ - at_ < sizeof v) return ok_ = false;
    std::memcpy(&v, data_ + at_, sizeof v);
    at_ += sizeof v;
    return true;
  }
  bool str(std::string& s) {
    uint64_t n = 0;
    if (!num(n) || size_ - at_ < n) return ok_ = false;
    s.assign(data_ + at_, size_t(n));
    at_ += size_t(n);
    return true;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && at_ == size_; }
  size_t remaining() const { return size_ - at_; }

 private:
  const char* data_;
  size_t size_;
  size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace tessera::bytes
