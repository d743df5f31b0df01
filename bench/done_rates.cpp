// How fast a store's trials finished: reads the `done` events (commit times)
// of a store and prints, as one line of JSON, the overall rate and the rates
// over the first and the last tenth of the results. bench/run_scale.sh uses it.
//
// Usage: done_rates STORE
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "storage/store.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: done_rates STORE\n";
    return 2;
  }
  deepreduce::storage::StoreOptions o;
  o.read_only = true;
  auto store = deepreduce::storage::open_store(argv[1], o);
  if (!store.ok()) {
    std::cerr << store.status().message() << "\n";
    return 1;
  }
  std::vector<int64_t> done;
  int64_t first_event = -1;
  for (uint64_t after = 0;;) {
    auto events = (*store)->events(after, 100000);
    if (!events.ok()) {
      std::cerr << events.status().message() << "\n";
      return 1;
    }
    if (events->empty()) break;
    for (const auto& e : *events) {
      if (first_event < 0) first_event = e.time_ms;
      if (e.type == "done") done.push_back(e.time_ms);
      after = e.seq;
    }
  }
  const size_t n = done.size(), tenth = std::max<size_t>(1, n / 10);
  auto rate = [&](size_t from, size_t to, int64_t start) {  // results (from, to] per second
    const double secs = (done[to - 1] - start) / 1000.0;
    return secs > 0 ? (to - from) / secs : 0.0;
  };
  nlohmann::json j = {{"done", n}};
  if (n >= 10) {
    j["overall"] = rate(0, n, first_event);
    j["first_tenth"] = rate(0, tenth, first_event);
    j["last_tenth"] = rate(n - tenth, n, done[n - tenth - 1]);
  }
  std::cout << j.dump() << "\n";
  return 0;
}
