#include "search/yaml_lint.h"

#include <algorithm>
#include <map>
#include <vector>

namespace deepreduce::search {
namespace {

std::string line_of(const YAML::Node& n) { return std::to_string(n.Mark().line + 1); }

struct Source {
  std::vector<std::string> lines;
  // Whether a scalar starting at `mark` fits on its line: its text is no
  // longer than what the line holds from there (escapes only shorten it).
  bool fits(const YAML::Node& n) const {
    const auto m = n.Mark();
    if (m.line < 0 || static_cast<size_t>(m.line) >= lines.size()) return true;
    const std::string& line = lines[m.line];
    const size_t room = static_cast<size_t>(m.column) <= line.size() ? line.size() - m.column : 0;
    return n.Scalar().find('\n') == std::string::npos && n.Scalar().size() <= room;
  }
};

Status lint(const YAML::Node& n, const std::string& path, const std::string& key, const Source& src,
            int64_t& budget) {
  // Aliases share nodes: nine lists of nine aliases of each other, ten deep, are a few lines that
  // walk as billions of values. Every reader walks at most kMaxYamlValues.
  if (--budget < 0)
    return Status::invalid_argument(path + ":" + line_of(n) + ": " + (key.empty() ? "(top)" : key) +
                                    ": more than " + std::to_string(kMaxYamlValues) +
                                    " values (aliases that expand without end?)");
  const std::string here = path + ":" + line_of(n) + ": " + (key.empty() ? "(top)" : key) + ": ";
  if (n.IsScalar()) {
    if (!src.fits(n))
      return Status::invalid_argument(here + "a value over several lines (a quote left open?): \"" +
                                      n.Scalar().substr(0, 40) + (n.Scalar().size() > 40 ? "...\"" : "\""));
    return Status();
  }
  if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i)
      DR_RETURN_IF_ERROR(lint(n[i], path, key + "[" + std::to_string(i) + "]", src, budget));
    return Status();
  }
  if (!n.IsMap()) return Status();
  std::map<std::string, int> first_line;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar())
      return Status::invalid_argument(path + ":" + line_of(kv.first) + ": " + (key.empty() ? "(top)" : key) +
                                      ": a key must be a plain name, not a list or a mapping");
    const std::string k = kv.first.Scalar();
    const std::string full = key.empty() ? k : key + "." + k;
    if (!src.fits(kv.first))
      return Status::invalid_argument(path + ":" + line_of(kv.first) + ": " + full +
                                      ": a key over several lines (a quote left open?)");
    if (auto it = first_line.find(k); it != first_line.end())
      return Status::invalid_argument(path + ":" + line_of(kv.first) + ": " + full + ": given twice (first on line " +
                                      std::to_string(it->second) + "); YAML would keep only one");
    first_line[k] = kv.first.Mark().line + 1;
    DR_RETURN_IF_ERROR(lint(kv.second, path, full, src, budget));
  }
  return Status();
}

}  // namespace

Status lint_yaml(const YAML::Node& root, const std::string& path, const std::string& text) {
  Source src;
  std::string line;
  for (char c : text) {
    if (c == '\n') {
      src.lines.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  src.lines.push_back(line);
  int64_t budget = kMaxYamlValues;
  return lint(root, path, "", src, budget);
}

}  // namespace deepreduce::search
