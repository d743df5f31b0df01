// Typed reads of a YAML config whose errors name file:line and the key path,
// e.g. "configs/x.yaml:12: search.alpha: expected a list of numbers in (0, 4], got "big"".
// The sweep parser and every registered strategy's reader (search/registry.h) read through it.
#pragma once

#include <yaml-cpp/yaml.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/nearest.h"
#include "search/yaml_lint.h"
#include "spec/job_schema.h"

namespace deepreduce::search {

// Typed reads of YAML nodes whose errors carry file:line and the key path.
class ConfigReader {
 public:
  explicit ConfigReader(std::string path) : path_(std::move(path)) {}

  std::string at(const YAML::Node& n) const { return path_ + ":" + std::to_string(n.Mark().line + 1); }

  Status error(const YAML::Node& n, const std::string& key, const std::string& what) const {
    return Status::invalid_argument(at(n) + ": " + key + ": " + what);
  }

  static std::string shown(const YAML::Node& n) {
    if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return "nothing";
  }

  Status keys(const YAML::Node& map, const std::string& key, std::initializer_list<const char*> known) const {
    return keys(map, key, std::vector<std::string>(known.begin(), known.end()));
  }
  Status keys(const YAML::Node& map, const std::string& key, const std::vector<std::string>& known) const {
    if (!map.IsMap()) return error(map, key, "expected a mapping, got " + shown(map));
    for (const auto& kv : map) {
      const std::string k = kv.first.as<std::string>();
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      return error(kv.first, key.empty() ? k : key + "." + k, unknown_key(k, known));
    }
    return Status();
  }

  // "unknown key; did you mean search? (known: ...)", the suggestion when one is near.
  static std::string unknown_key(const std::string& k, const std::vector<std::string>& known) {
    const std::string list = fmt::format("{}", fmt::join(known, ", "));
    const std::string near = nearest(k, known);
    return near.empty() ? "unknown key (known: " + list + ")"
                        : "unknown key; did you mean " + near + "? (known: " + list + ")";
  }

  // The schema's keys a sweep spells "SECTION.leaf": their leaves.
  static std::vector<std::string> job_section(const std::string& section) {
    std::vector<std::string> leaves;
    for (const auto& k : spec::job_keys()) {
      const std::string sweep = k.sweep;
      if (sweep.rfind(section + ".", 0) == 0) leaves.push_back(sweep.substr(section.size() + 1));
    }
    return leaves;
  }

  // Every key of the schema that `section` (a mapping) sets, into the job;
  // a wrong value is named at its line with the sweep's spelling.
  Status job_keys(const YAML::Node& map, const std::string& section, spec::TrainJob& job) const {
    for (const auto& leaf : job_section(section)) {
      const YAML::Node n = map[leaf];
      if (!n) continue;
      const spec::JobKey& key = *spec::key_by_sweep(section + "." + leaf);
      auto wrong = [&](const YAML::Node& at) {
        return error(at, key.sweep, "expected " + spec::expected_text(key) + ", got " + shown(at));
      };
      std::string text;  // as the command line would give it: a list is "3,5"
      if (key.type == spec::KeyType::kIntList) {
        if (!n.IsSequence()) return wrong(n);
        for (const auto& item : n) {
          if (!item.IsScalar()) return wrong(item);
          text += (text.empty() ? "" : ",") + item.Scalar();
        }
      } else {
        if (!n.IsScalar()) return wrong(n);
        text = n.Scalar();
      }
      if (Status s = spec::set_key_from_text(key, job, text); !s.ok())
        return error(n, key.sweep, s.message().substr(std::string(key.path).size() + 2));
    }
    return Status();
  }

  template <typename T>
  Status scalar(const YAML::Node& n, const std::string& key, const char* expected, T& out) const {
    return read_scalar(n, path_, key, expected, out);
  }

  // A name read through `parse` (text -> Result<T>): "expected EXPECTED, got "TEXT"" when it does not parse.
  template <typename T, typename Parse>
  Status choice(const YAML::Node& n, const std::string& key, const char* expected, Parse parse, T& out) const {
    std::string text;
    DR_RETURN_IF_ERROR(scalar(n, key, expected, text));
    auto parsed = parse(text);
    if (!parsed.ok()) return error(n, key, std::string("expected ") + expected + ", got \"" + text + "\"");
    out = *parsed;
    return Status();
  }

  // A list of T, or of lists of T (nested).
  template <typename T>
  Status list(const YAML::Node& n, const std::string& key, const char* expected, std::vector<T>& out) const {
    if (!n.IsSequence()) return error(n, key, std::string("expected a list of ") + expected + ", got " + shown(n));
    out.clear();
    for (const auto& item : n) {
      T v;
      if (!item.IsScalar()) return error(item, key, std::string("expected a list of ") + expected + ", got " + shown(item));
      try {
        v = item.as<T>();
      } catch (const YAML::Exception&) {
        return error(item, key, std::string("expected a list of ") + expected + ", got " + shown(item));
      }
      out.push_back(v);
    }
    return Status();
  }

  template <typename T>
  Status list_of_lists(const YAML::Node& n, const std::string& key, const char* expected,
                       std::vector<std::vector<T>>& out) const {
    if (!n.IsSequence() || n.size() == 0)
      return error(n, key, std::string("expected a non-empty list of lists of ") + expected + ", got " + shown(n));
    out.clear();
    for (const auto& item : n) {
      std::vector<T> inner;
      DR_RETURN_IF_ERROR(list(item, key, expected, inner));
      out.push_back(inner);
    }
    return Status();
  }

 private:
  std::string path_;
};

}  // namespace deepreduce::search
