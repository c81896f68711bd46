// planner.cpp — greedy-by-size offset assignment over op-index lifetimes.
#include "exec/planner.hpp"

#include <algorithm>
#include <numeric>

namespace plinth::exec {

uint64_t plan_offsets(std::vector<Interval>& items) {
  auto align = [](uint64_t x) { return (x + kAlignment - 1) / kAlignment * kAlignment; };
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return items[a].size > items[b].size; });
  std::vector<size_t> placed;  // indices already placed, kept sorted by offset
  uint64_t total = 0;
  for (size_t i : order) {
    Interval& it = items[i];
    const uint64_t need = align(std::max<uint64_t>(it.size, 1));
    uint64_t candidate = 0;
    // Walk the placed items that overlap in time, in offset order, and take
    // the first gap large enough.
    for (size_t j : placed) {
      const Interval& o = items[j];
      if (o.last < it.first || o.first > it.last) continue;
      if (o.offset >= candidate + need) break;
      candidate = std::max(candidate, o.offset + align(std::max<uint64_t>(o.size, 1)));
    }
    it.offset = candidate;
    total = std::max(total, candidate + need);
    placed.insert(std::upper_bound(placed.begin(), placed.end(), i,
                                   [&](size_t a, size_t b) { return items[a].offset < items[b].offset; }),
                  i);
  }
  return total;
}

uint64_t peak_live_bytes(const std::vector<Interval>& items) {
  // +size at `first`, -size after `last`; the running sum's maximum.
  std::vector<std::pair<int64_t, int64_t>> events;
  events.reserve(items.size() * 2);
  for (const Interval& it : items) {
    events.emplace_back(int64_t{it.first} * 2, static_cast<int64_t>(it.size));
    events.emplace_back(int64_t{it.last} * 2 + 1, -static_cast<int64_t>(it.size));
  }
  std::sort(events.begin(), events.end());
  int64_t live = 0, peak = 0;
  for (const auto& [at, delta] : events) {
    live += delta;
    peak = std::max(peak, live);
  }
  return static_cast<uint64_t>(peak);
}

}  // namespace plinth::exec
