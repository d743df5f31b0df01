// BLAKE2b digests, random tokens and the hex form both travel in: one home for
// what trial ids, artifact checksums, RESULT digests and lease tokens share.
// libsodium underneath (ZeroMQ's CURVE needs it anyway).
#pragma once

#include <cstddef>
#include <string>

namespace deepreduce {

// BLAKE2b of `bytes` with an output of `out_bytes` (16 to 64) bytes, as
// 2 * out_bytes lowercase hex digits.
std::string blake2b_hex(const std::string& bytes, size_t out_bytes = 32);
// `bytes` bytes from the kernel's CSPRNG, as lowercase hex.
std::string random_hex(size_t bytes = 16);
// Exactly `digits` lowercase hex digits (trial ids: 32, digests: 64).
bool is_lower_hex(const std::string& s, size_t digits);

}  // namespace deepreduce
