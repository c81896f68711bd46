// planner.hpp — the memory planner: gives every transient value of a step
// (activations, their gradients, the batch) an offset in one arena so that
// values whose lifetimes overlap never share bytes, and a step allocates
// nothing. Greedy by size (largest first, lowest fitting offset), as in
// TFLite's and ggml-alloc's planners. Persistent values are not planned here.
#pragma once

#include <cstdint>
#include <vector>

namespace plinth::exec {

struct Interval {
  uint64_t size = 0;    // bytes
  int first = 0;        // first op index that touches it
  int last = 0;         // last op index that touches it
  uint64_t offset = 0;  // out: assigned offset
};

constexpr uint64_t kAlignment = 64;

// Assign offsets in place; returns the arena size needed.
uint64_t plan_offsets(std::vector<Interval>& items);

// The most bytes live at once over the launch sequence (sizes as given, no
// alignment): what any placement of these intervals needs at least, the
// "need" the arena from plan_offsets is measured against.
uint64_t peak_live_bytes(const std::vector<Interval>& items);

}  // namespace plinth::exec
