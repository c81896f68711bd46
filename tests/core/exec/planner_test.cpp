// planner_test.cpp — the memory planner never lets two values that are live
// at the same time share a byte, and reuses bytes of values that are not.
#include <gtest/gtest.h>

#include <random>

#include "exec/planner.hpp"

namespace plinth::exec {
namespace {

bool overlap_in_time(const Interval& a, const Interval& b) { return !(a.last < b.first || b.last < a.first); }
bool overlap_in_bytes(const Interval& a, const Interval& b) {
  return a.offset < b.offset + b.size && b.offset < a.offset + a.size;
}

TEST(planner, live_values_never_share_bytes) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<Interval> items(1 + rng() % 40);
    uint64_t sum = 0;
    for (auto& it : items) {
      it.size = 1 + rng() % 5000;
      it.first = static_cast<int>(rng() % 50);
      it.last = it.first + static_cast<int>(rng() % 20);
      sum += (it.size + kAlignment - 1) / kAlignment * kAlignment;
    }
    const uint64_t total = plan_offsets(items);
    EXPECT_LE(total, sum);
    for (size_t i = 0; i < items.size(); ++i) {
      EXPECT_EQ(items[i].offset % kAlignment, 0u);
      EXPECT_LE(items[i].offset + items[i].size, total);
      for (size_t j = i + 1; j < items.size(); ++j) {
        if (overlap_in_time(items[i], items[j])) {
          EXPECT_FALSE(overlap_in_bytes(items[i], items[j]))
              << "trial " << trial << " items " << i << ", " << j;
        }
      }
    }
  }
}

TEST(planner, reuses_bytes_of_values_whose_lifetimes_do_not_overlap) {
  std::vector<Interval> items{{1000, 0, 1, 0}, {1000, 2, 3, 0}, {1000, 4, 5, 0}};
  EXPECT_EQ(plan_offsets(items), 1024u);
  for (const auto& it : items) EXPECT_EQ(it.offset, 0u);
}

TEST(planner, places_overlapping_values_side_by_side) {
  std::vector<Interval> items{{100, 0, 5, 0}, {100, 1, 2, 0}, {100, 3, 4, 0}};
  EXPECT_EQ(plan_offsets(items), 256u);  // two live at a time, 128 bytes each after alignment
}

// The least any placement needs: the largest sum of sizes live at one launch,
// counted launch by launch here, against the sweep in peak_live_bytes; and
// no plan is smaller than it.
TEST(planner, peak_live_bytes_is_the_largest_sum_live_at_one_launch_and_bounds_every_plan) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<Interval> items(1 + rng() % 40);
    for (auto& it : items) {
      it.size = 1 + rng() % 5000;
      it.first = static_cast<int>(rng() % 50);
      it.last = it.first + static_cast<int>(rng() % 20);
    }
    uint64_t brute = 0;
    for (int at = 0; at < 70; ++at) {
      uint64_t live = 0;
      for (const auto& it : items)
        if (it.first <= at && at <= it.last) live += it.size;
      brute = std::max(brute, live);
    }
    EXPECT_EQ(peak_live_bytes(items), brute) << "trial " << trial;
    EXPECT_GE(plan_offsets(items), brute) << "trial " << trial;
  }
  // Back to back at one launch: both are live there.
  EXPECT_EQ(peak_live_bytes({{100, 0, 3, 0}, {50, 3, 5, 0}}), 150u);
  EXPECT_EQ(peak_live_bytes({{100, 0, 2, 0}, {50, 3, 5, 0}}), 100u);
  EXPECT_EQ(peak_live_bytes({}), 0u);
}

}  // namespace
}  // namespace plinth::exec
