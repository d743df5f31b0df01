#include "common/digest.h"

#include <sodium.h>

#include <vector>

namespace deepreduce {
namespace {

void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  (void)ready;
}

std::string to_hex(const unsigned char* b, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

}  // namespace

std::string blake2b_hex(const std::string& bytes, size_t out_bytes) {
  ensure_sodium();
  std::vector<unsigned char> h(out_bytes);
  crypto_generichash(h.data(), h.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr,
                     0);
  return to_hex(h.data(), h.size());
}

std::string random_hex(size_t bytes) {
  ensure_sodium();
  std::vector<unsigned char> b(bytes);
  randombytes_buf(b.data(), b.size());
  return to_hex(b.data(), b.size());
}

bool is_lower_hex(const std::string& s, size_t digits) {
  if (s.size() != digits) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace deepreduce
