#include "spec/model_json.h"

namespace deepreduce::spec {

nlohmann::json to_json(const ModelSpec& s) {
  nlohmann::json j;
  j["arch"] = s.arch;
  j["classes"] = s.classes;
  j["in_channels"] = s.in_channels;
  j["input_size"] = s.input_size;
  j["alpha"] = s.alpha;
  j["rho"] = s.rho;
  j["blocks"] = s.blocks;
  j["relu_off"] = std::vector<std::string>(s.relu_off.begin(), s.relu_off.end());
  j["widths"] = nlohmann::json::object();
  for (const auto& [block, width] : s.widths) j["widths"][block] = width;
  // Only masked networks have the key: every other spec keeps its JSON (and its trials their ids).
  if (s.masks) {
    nlohmann::json kept = nlohmann::json::object();
    for (const auto& [site, n] : s.masks->kept) kept[site] = n;
    j["masks"] = {{"granularity", granularity_name(s.masks->granularity)},
                  {"learnable", s.masks->learnable},
                  {"kept", kept},
                  {"digest", s.masks->digest}};
  }
  return j;
}

Result<ModelSpec> model_spec_from_json(const nlohmann::json& j, const std::string& where, bool check) {
  if (!j.is_object()) return Status::invalid_argument(where + ": expected an object");
  ModelSpec s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = where + "." + it.key();
    const auto& v = it.value();
    auto need_int = [&](int64_t& out) -> Status {
      if (!v.is_number_integer()) return Status::invalid_argument(key + ": expected an integer, got " + v.dump());
      out = v.get<int64_t>();
      return Status();
    };
    auto need_num = [&](double& out) -> Status {
      if (!v.is_number()) return Status::invalid_argument(key + ": expected a number, got " + v.dump());
      out = v.get<double>();
      return Status();
    };
    if (it.key() == "arch") {
      if (!v.is_string()) return Status::invalid_argument(key + ": expected a string, got " + v.dump());
      s.arch = v.get<std::string>();
    } else if (it.key() == "classes") {
      DR_RETURN_IF_ERROR(need_int(s.classes));
    } else if (it.key() == "in_channels") {
      DR_RETURN_IF_ERROR(need_int(s.in_channels));
    } else if (it.key() == "input_size") {
      DR_RETURN_IF_ERROR(need_int(s.input_size));
    } else if (it.key() == "alpha") {
      DR_RETURN_IF_ERROR(need_num(s.alpha));
    } else if (it.key() == "rho") {
      DR_RETURN_IF_ERROR(need_num(s.rho));
    } else if (it.key() == "blocks") {
      if (!v.is_array()) return Status::invalid_argument(key + ": expected a list of integers");
      for (const auto& b : v) {
        if (!b.is_number_integer()) return Status::invalid_argument(key + ": expected a list of integers, got " + v.dump());
        s.blocks.push_back(b.get<int64_t>());
      }
    } else if (it.key() == "relu_off") {
      if (!v.is_array()) return Status::invalid_argument(key + ": expected a list of site names");
      for (const auto& b : v) {
        if (!b.is_string()) return Status::invalid_argument(key + ": expected a list of site names, got " + v.dump());
        s.relu_off.insert(b.get<std::string>());
      }
    } else if (it.key() == "widths") {
      if (!v.is_object()) return Status::invalid_argument(key + ": expected a mapping of block names to widths");
      for (auto w = v.begin(); w != v.end(); ++w) {
        if (!w.value().is_number_integer())
          return Status::invalid_argument(key + "." + w.key() + ": expected an integer, got " + w.value().dump());
        s.widths[w.key()] = w.value().get<int64_t>();
      }
    } else if (it.key() == "masks") {
      if (!v.is_object()) return Status::invalid_argument(key + ": expected {granularity, learnable, kept, digest}");
      ReluMasks m;
      for (auto f = v.begin(); f != v.end(); ++f) {
        const std::string fkey = key + "." + f.key();
        const auto& fv = f.value();
        if (f.key() == "granularity" && fv.is_string()) {
          auto g = parse_granularity(fv.get<std::string>());
          if (!g.ok()) return g.status().with_context(fkey);
          m.granularity = *g;
        } else if (f.key() == "learnable" && fv.is_boolean()) {
          m.learnable = fv.get<bool>();
        } else if (f.key() == "digest" && fv.is_string()) {
          m.digest = fv.get<std::string>();
        } else if (f.key() == "kept" && fv.is_object()) {
          for (auto k = fv.begin(); k != fv.end(); ++k) {
            if (!k.value().is_number_integer())
              return Status::invalid_argument(fkey + "." + k.key() + ": expected an integer, got " + k.value().dump());
            m.kept[k.key()] = k.value().get<int64_t>();
          }
        } else {
          return Status::invalid_argument(fkey + ": unknown key or wrong type (known: granularity, learnable, kept, digest)");
        }
      }
      s.masks = m;
    } else {
      return Status::invalid_argument(key +
                                      ": unknown key (known: arch, classes, in_channels, input_size, alpha, rho, "
                                      "blocks, relu_off, widths, masks)");
    }
  }
  if (check) DR_RETURN_IF_ERROR(validate(s).with_context(where));
  return s;
}

}  // namespace deepreduce::spec
