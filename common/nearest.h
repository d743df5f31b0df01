// What a mistyped word was meant to be.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace deepreduce {

// The Levenshtein distance between two words (insertions, deletions,
// substitutions; an adjacent swap counts 1).
size_t edit_distance(const std::string& a, const std::string& b);
// The candidate nearest `word` when it is near enough to be what was meant
// (at most a third of its letters off, and at most 3), else "".
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace deepreduce
