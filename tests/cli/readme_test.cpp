// The README as a user reads it, checked against the tool, so the two cannot
// drift apart:
//  - every ```console block is run: each `$ ` line is a command (run in the
//    source folder, build/deepreduce being the binary under test) and the
//    lines after it are what it prints, in order; a line `...` stands for any
//    lines, a line ending in `...` for the rest of that line; a last line
//    `[exit N]` is the status it exits with (0 otherwise);
//  - every `build/deepreduce COMMAND --option` in any block names a command
//    and options that its --help lists;
//  - the layout table's file counts are the folders' files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/run_binary.h"

namespace {
namespace fs = std::filesystem;

struct Block {
  std::string lang;
  int line = 0;  // of the opening fence
  std::vector<std::string> lines;
};

std::vector<Block> blocks() {
  std::ifstream in(std::string(DEEPREDUCE_SOURCE_DIR) + "/README.md");
  std::vector<Block> out;
  std::string line;
  int n = 0;
  bool inside = false;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("```", 0) == 0) {
      if (inside) {
        inside = false;
      } else {
        inside = true;
        out.push_back({line.substr(3), n, {}});
      }
      continue;
    }
    if (inside) out.back().lines.push_back(line);
  }
  return out;
}

std::string rtrim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// Runs `command` (a README line) with build/deepreduce replaced by the binary under test.
deepreduce::testing::CmdRun run_shell(std::string command) {
  const std::string bin = "build/deepreduce";
  for (size_t at = command.find(bin); at != std::string::npos; at = command.find(bin, at + 1)) {
    command.replace(at, bin.size(), DEEPREDUCE_BIN);
    at += std::string(DEEPREDUCE_BIN).size() - 1;
  }
  const std::string file = (fs::temp_directory_path() / ("readme_cmd_" + std::to_string(::getpid()) + ".sh")).string();
  std::ofstream(file) << "cd '" << DEEPREDUCE_SOURCE_DIR << "'\n" << command << "\n";
  FILE* p = popen(("bash " + file + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
  const int status = pclose(p);
  fs::remove(file);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Whether `actual` holds `expected` in order (`...` lines skip, a trailing
// `...` matches the rest of a line); else the first expected line not found.
std::string first_unmatched(const std::vector<std::string>& expected, const std::vector<std::string>& actual) {
  size_t a = 0;
  bool skipping = false;
  for (const auto& raw : expected) {
    const std::string e = rtrim(raw);
    if (e == "...") {
      skipping = true;
      continue;
    }
    const bool prefix = e.size() > 3 && e.compare(e.size() - 3, 3, "...") == 0;
    const std::string want = prefix ? e.substr(0, e.size() - 3) : e;
    auto matches = [&](const std::string& line) {
      const std::string l = rtrim(line);
      return prefix ? l.rfind(want, 0) == 0 : l == want;
    };
    bool found = false;
    while (a < actual.size()) {
      if (matches(actual[a++])) {
        found = true;
        break;
      }
      if (!skipping) break;
    }
    if (!found) return e;
    skipping = false;
  }
  return "";
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(ReadmeTest, ConsoleExamplesPrintWhatTheyShow) {
  int commands = 0;
  for (const auto& b : blocks()) {
    if (b.lang != "console") continue;
    for (size_t i = 0; i < b.lines.size();) {
      ASSERT_EQ(b.lines[i].rfind("$ ", 0), 0u) << "README.md:" << b.line + 1 + i << ": a console block starts with `$ `";
      std::string command = b.lines[i].substr(2);
      const int at = b.line + 1 + static_cast<int>(i);
      ++i;
      std::vector<std::string> expected;
      while (i < b.lines.size() && b.lines[i].rfind("$ ", 0) != 0) expected.push_back(b.lines[i++]);
      int code = 0;
      if (!expected.empty() && std::regex_match(rtrim(expected.back()), std::regex(R"(\[exit \d+\])"))) {
        code = std::stoi(rtrim(expected.back()).substr(6));
        expected.pop_back();
      }
      auto r = run_shell(command);
      ++commands;
      EXPECT_EQ(r.code, code) << "README.md:" << at << ": " << command << "\n" << r.out;
      const std::string missing = first_unmatched(expected, split_lines(r.out));
      EXPECT_TRUE(missing.empty()) << "README.md:" << at << ": " << command << "\nshows a line it does not print:\n  "
                                   << missing << "\nit prints:\n" << r.out;
    }
  }
  EXPECT_GE(commands, 2) << "the README has console examples";
}

TEST(ReadmeTest, EveryDocumentedCommandAndOptionExists) {
  std::map<std::string, std::string> help;  // command -> its --help
  int checked = 0;
  for (const auto& b : blocks()) {
    if (b.lang != "sh" && b.lang != "console") continue;
    std::string joined;
    for (size_t i = 0; i < b.lines.size(); ++i) {
      std::string l = b.lines[i];
      if (b.lang == "console") {
        // Commands only, and not those shown failing (a mistyped command).
        if (l.rfind("$ ", 0) != 0 && joined.empty()) continue;
        size_t end = i + 1;
        while (end < b.lines.size() && b.lines[end].rfind("$ ", 0) != 0) ++end;
        if (l.rfind("$ ", 0) == 0 && end > i + 1 && rtrim(b.lines[end - 1]).rfind("[exit ", 0) == 0) continue;
      }
      if (l.rfind("$ ", 0) == 0) l = l.substr(2);
      const bool more = !rtrim(l).empty() && rtrim(l).back() == '\\';
      joined += more ? rtrim(l).substr(0, rtrim(l).size() - 1) + " " : l;
      if (more) continue;
      const std::string text = joined.substr(0, joined.find(" #"));
      joined.clear();
      static const std::regex invocation(R"((?:^|[\s;&|(])build/deepreduce\s+([a-z][a-z-]*)([^;&|]*))");
      for (std::sregex_iterator m(text.begin(), text.end(), invocation), end; m != end; ++m) {
        const std::string command = (*m)[1];
        if (!help.count(command)) {
          auto h = deepreduce::testing::run_deepreduce(command + " --help");
          // Without LibTorch the commands that train exist but only say so: their options go unchecked here.
          if (!DEEPREDUCE_HAS_TORCH && h.code == 1 && h.out.find("this build has no LibTorch") != std::string::npos)
            h.out.clear();
          else
            ASSERT_EQ(h.code, 0) << "README.md:" << b.line << ": `deepreduce " << command << "` is no command\n" << h.out;
          help[command] = h.out;
        }
        const std::string rest = (*m)[2];
        static const std::regex option(R"((?:^|\s)--([a-z][a-z0-9-]*))");
        for (std::sregex_iterator o(rest.begin(), rest.end(), option); o != end; ++o) {
          const std::string name = "--" + std::string((*o)[1]);
          const std::string& h = help[command];
          if (h.empty()) continue;  // a command this build has not got (no LibTorch)
          bool listed = false;
          for (size_t at = h.find(name); at != std::string::npos && !listed; at = h.find(name, at + 1)) {
            const char next = at + name.size() < h.size() ? h[at + name.size()] : '\n';
            listed = next == ' ' || next == '\n' || next == '=' || next == ']' || next == ',';
          }
          EXPECT_TRUE(listed) << "README.md (block at line " << b.line << "): deepreduce " << command << " has no "
                              << name << "\n  " << text;
          ++checked;
        }
      }
    }
  }
  EXPECT_GE(checked, 20);
}

TEST(ReadmeTest, TheLayoutTableCountsTheFilesOfEachFolder) {
  std::ifstream in(std::string(DEEPREDUCE_SOURCE_DIR) + "/README.md");
  static const std::regex row(R"(^\| `([a-z]+)/`(?:, `([a-z]+)/`)? \((\d+)(?: each)?\) \|)");
  int rows = 0;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    for (int g : {1, 2}) {
      if (!m[g].matched) continue;
      int files = 0;
      for (const auto& e : fs::directory_iterator(fs::path(DEEPREDUCE_SOURCE_DIR) / m[g].str()))
        files += e.is_regular_file() && e.path().filename() != "CMakeLists.txt";
      EXPECT_EQ(files, std::stoi(m[3])) << "README.md's layout: " << m[g] << "/ has " << files << " files";
      ++rows;
    }
  }
  EXPECT_GE(rows, 10);
}

}  // namespace
