// Partial ReLU sites: a keep mask over a site's activation, one unit per pixel
// (C x H x W) or per channel (C). A masked site computes
//   y = m * relu(x) + (1 - m) * x
// and costs, in private inference, only the ReLUs it keeps. Learned
// linearization (SNL, Cho et al., ICML 2022) trains m as a real α in [0, 1]
// under an L1 penalty, then binarises it and fine-tunes under the fixed mask.
//
// A ModelSpec carries ReluMasks: for a learnable mask (the mask phase) only
// its granularity; for a fixed one the units each masked site keeps (so counts
// stay exact from the spec alone) and the BLAKE2b of the mask's values. The
// values themselves (which units) are MaskValues: an artifact of the trial
// that learned them ("mask"), content-hashed and verified like weights, and
// stored in model.pt with the network.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace deepreduce::spec {

enum class MaskGranularity { kPixel, kChannel };
Result<MaskGranularity> parse_granularity(const std::string& name);  // pixel | channel
const char* granularity_name(MaskGranularity g);

struct ReluMasks {
  MaskGranularity granularity = MaskGranularity::kPixel;
  // The mask phase: every active site has a learnable α per unit (initially 1).
  bool learnable = false;
  // A fixed mask: units kept per masked site (a site not listed keeps every
  // unit); the digest of its values (encode_mask).
  std::map<std::string, int64_t> kept;
  std::string digest;
  bool operator==(const ReluMasks& o) const {
    return granularity == o.granularity && learnable == o.learnable && kept == o.kept && digest == o.digest;
  }
  bool operator!=(const ReluMasks& o) const { return !(*this == o); }
};

// A mask's values: for each masked site, one 0/1 per unit (pixel: NCHW order
// without N; channel: one per channel). Sites in forward order.
struct SiteMask {
  std::string site;
  int64_t channels = 0, height = 0, width = 0;  // the site's activation
  std::vector<uint8_t> keep;                     // units: C*H*W (pixel) or C (channel)
  int64_t kept() const;
};
struct MaskValues {
  MaskGranularity granularity = MaskGranularity::kPixel;
  std::vector<SiteMask> sites;
};

// The units a site of shape (c, h, w) has under a granularity, and the ReLUs one unit costs.
int64_t mask_units(MaskGranularity g, int64_t c, int64_t h, int64_t w);
int64_t relus_per_unit(MaskGranularity g, int64_t h, int64_t w);

// A deterministic encoding ("deepreduce-mask 1", a JSON header line, then
// packed bits), and its reading: bounded (at most `max_bytes`), every field
// checked; damage is Corruption naming what is wrong.
std::string encode_mask(const MaskValues& m);
Result<MaskValues> decode_mask(const std::string& bytes, size_t max_bytes = size_t{256} << 20);
// BLAKE2b-256 of encode_mask(m): what ReluMasks::digest names.
std::string mask_digest(const MaskValues& m);
// The fixed ReluMasks that describe these values.
ReluMasks fixed_masks(const MaskValues& m);

}  // namespace deepreduce::spec
