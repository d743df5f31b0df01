// Closed choices as enums with one table of names each: parsed once where
// they enter (YAML, options, JSON, the wire), refused there with the valid
// names and the nearest one, and compared as enums everywhere inside.
//
//   enum class Optimizer { kSgd, kAdam };
//   constexpr EnumName<Optimizer> kOptimizerNames[] = {{Optimizer::kSgd, "sgd"}, {Optimizer::kAdam, "adam"}};
//   enum_name(Optimizer::kAdam, kOptimizerNames)      -> "adam"
//   parse_enum("adma", kOptimizerNames)               -> InvalidArgument
//       "expected sgd or adam, got \"adma\"; did you mean adam?"
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/nearest.h"

namespace deepreduce {

template <class E>
struct EnumName {
  E value;
  const char* name;
};

template <class E, size_t N>
const char* enum_name(E value, const EnumName<E> (&table)[N]) {
  for (const auto& e : table)
    if (e.value == value) return e.name;
  return "?";
}

// "a, b or c": what a choice takes.
template <class E, size_t N>
std::string enum_choices(const EnumName<E> (&table)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += std::string(i == 0 ? "" : i + 1 == N ? " or " : ", ") + table[i].name;
  return out;
}

template <class E, size_t N>
std::vector<std::string> enum_names(const EnumName<E> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& e : table) out.push_back(e.name);
  return out;
}

// The value called `text`; InvalidArgument naming the valid ones and the nearest.
template <class E, size_t N>
Result<E> parse_enum(const std::string& text, const EnumName<E> (&table)[N]) {
  for (const auto& e : table)
    if (text == e.name) return e.value;
  const std::string near = nearest(text, enum_names(table));
  return Status::invalid_argument("expected " + enum_choices(table) + ", got \"" + text + "\"" +
                                  (near.empty() ? "" : "; did you mean " + near + "?"));
}

}  // namespace deepreduce
