#include "spec/relu_mask.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/digest.h"

namespace deepreduce::spec {
namespace {

constexpr const char* kMagic = "deepreduce-mask 1\n";
constexpr int64_t kMaxSites = 100000;
constexpr int64_t kMaxUnits = int64_t{1} << 32;

}  // namespace

Result<MaskGranularity> parse_granularity(const std::string& name) {
  if (name == "pixel") return MaskGranularity::kPixel;
  if (name == "channel") return MaskGranularity::kChannel;
  return Status::invalid_argument("mask granularity: expected pixel or channel, got \"" + name + "\"");
}

const char* granularity_name(MaskGranularity g) { return g == MaskGranularity::kPixel ? "pixel" : "channel"; }

int64_t mask_units(MaskGranularity g, int64_t c, int64_t h, int64_t w) {
  return g == MaskGranularity::kPixel ? c * h * w : c;
}

int64_t relus_per_unit(MaskGranularity g, int64_t h, int64_t w) { return g == MaskGranularity::kPixel ? 1 : h * w; }

int64_t SiteMask::kept() const {
  int64_t n = 0;
  for (uint8_t k : keep) n += k != 0;
  return n;
}

std::string encode_mask(const MaskValues& m) {
  nlohmann::json sites = nlohmann::json::array();
  for (const auto& s : m.sites)
    sites.push_back({{"site", s.site}, {"shape", {s.channels, s.height, s.width}}, {"kept", s.kept()}});
  std::string out = kMagic;
  out += nlohmann::json{{"granularity", granularity_name(m.granularity)}, {"sites", sites}}.dump();
  out += '\n';
  for (const auto& s : m.sites) {
    std::string bits((s.keep.size() + 7) / 8, '\0');
    for (size_t i = 0; i < s.keep.size(); ++i)
      if (s.keep[i]) bits[i / 8] = static_cast<char>(static_cast<uint8_t>(bits[i / 8]) | (1u << (i % 8)));
    out += bits;
  }
  return out;
}

Result<MaskValues> decode_mask(const std::string& bytes, size_t max_bytes) {
  if (bytes.size() > max_bytes)
    return Status::corruption(fmt::format("mask: {} bytes, more than the {} read", bytes.size(), max_bytes));
  const std::string magic = kMagic;
  if (bytes.compare(0, magic.size(), magic) != 0) return Status::corruption("mask: not a deepreduce mask (bad header)");
  const size_t eol = bytes.find('\n', magic.size());
  if (eol == std::string::npos || eol - magic.size() > (size_t{16} << 20))
    return Status::corruption("mask: the header line is missing or too long");
  auto header = nlohmann::json::parse(bytes.begin() + static_cast<std::ptrdiff_t>(magic.size()),
                                      bytes.begin() + static_cast<std::ptrdiff_t>(eol), nullptr, false);
  if (!header.is_object() || !header.contains("granularity") || !header["granularity"].is_string() ||
      !header.contains("sites") || !header["sites"].is_array())
    return Status::corruption("mask: the header is not {granularity, sites}");
  MaskValues m;
  auto g = parse_granularity(header["granularity"].get<std::string>());
  if (!g.ok()) return Status::corruption("mask: " + g.status().message());
  m.granularity = *g;
  if (static_cast<int64_t>(header["sites"].size()) > kMaxSites) return Status::corruption("mask: too many sites");
  size_t at = eol + 1;
  for (const auto& s : header["sites"]) {
    if (!s.is_object() || !s.contains("site") || !s["site"].is_string() || !s.contains("shape") ||
        !s["shape"].is_array() || s["shape"].size() != 3 || !s.contains("kept") || !s["kept"].is_number_integer())
      return Status::corruption("mask: a site entry is not {site, shape: [C, H, W], kept}");
    SiteMask site;
    site.site = s["site"].get<std::string>();
    for (const auto& d : s["shape"])
      if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > 65536)
        return Status::corruption("mask: site " + site.site + ": a dimension is out of range");
    site.channels = s["shape"][0].get<int64_t>();
    site.height = s["shape"][1].get<int64_t>();
    site.width = s["shape"][2].get<int64_t>();
    const int64_t units = mask_units(m.granularity, site.channels, site.height, site.width);
    if (units > kMaxUnits) return Status::corruption("mask: site " + site.site + " has too many units");
    const size_t nbytes = static_cast<size_t>((units + 7) / 8);
    if (bytes.size() - at < nbytes) return Status::corruption("mask: site " + site.site + ": its bits are cut short");
    site.keep.resize(static_cast<size_t>(units));
    for (int64_t i = 0; i < units; ++i)
      site.keep[static_cast<size_t>(i)] = (static_cast<uint8_t>(bytes[at + static_cast<size_t>(i / 8)]) >> (i % 8)) & 1u;
    at += nbytes;
    if (site.kept() != s["kept"].get<int64_t>())
      return Status::corruption("mask: site " + site.site + ": its bits keep " + std::to_string(site.kept()) +
                                " units, its header says " + std::to_string(s["kept"].get<int64_t>()));
    m.sites.push_back(std::move(site));
  }
  if (at != bytes.size()) return Status::corruption("mask: " + std::to_string(bytes.size() - at) + " bytes too many");
  return m;
}

std::string mask_digest(const MaskValues& m) { return blake2b_hex(encode_mask(m)); }

ReluMasks fixed_masks(const MaskValues& m) {
  ReluMasks r;
  r.granularity = m.granularity;
  for (const auto& s : m.sites) r.kept[s.site] = s.kept();
  r.digest = mask_digest(m);
  return r;
}

}  // namespace deepreduce::spec
