// did_you_mean_test.cpp — edit distance against hand-counted edits, and which
// candidate a misspelt name suggests (or that nothing far away is suggested).
#include "../../../core/src/config/did_you_mean.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace {

using plinth::config::did_you_mean;
using plinth::config::edit_distance;

TEST(did_you_mean, edit_distance_counts_each_kind_of_edit) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);  // 2 substitutions + 1 insertion
  EXPECT_EQ(edit_distance("batch_size", "batch_sise"), 1u);
  EXPECT_EQ(edit_distance("linear", "lienar"), 1u);   // one swap of neighbours
  EXPECT_EQ(edit_distance("shuffle", "shufle"), 1u);  // one deletion
  EXPECT_EQ(edit_distance("ca", "abc"), 3u);          // OSA: no edit of a swapped pair
}

TEST(did_you_mean, suggests_the_closest_within_two_edits) {
  constexpr std::string_view keys[] = {"epochs", "max_steps", "batch_size", "eval_every", "log_every"};
  EXPECT_EQ(did_you_mean("batchsize", keys), "batch_size");
  EXPECT_EQ(did_you_mean("epoch", keys), "epochs");
  EXPECT_EQ(did_you_mean("log_evry", keys), "log_every");
  EXPECT_EQ(did_you_mean("learning_rate", keys), "");
}

TEST(did_you_mean, suggests_a_prefix_match) {
  constexpr std::string_view keys[] = {"warmup_steps", "min_lr"};
  EXPECT_EQ(did_you_mean("warmup", keys), "warmup_steps");
  EXPECT_EQ(did_you_mean("w", keys), "");  // one letter is no evidence
}

TEST(did_you_mean, short_words_do_not_match_everything) {
  constexpr std::string_view keys[] = {"eps", "type"};
  EXPECT_EQ(did_you_mean("p", keys), "");
  EXPECT_EQ(did_you_mean("ep", keys), "eps");
}

}  // namespace
