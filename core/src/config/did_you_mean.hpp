// did_you_mean.hpp — "did you mean 'x'?" suggestions for unknown names:
// optimal-string-alignment (Damerau) edit distance and a prefix match.
// Knows nothing about TOML or pipelines; callers format the message.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace plinth::config {

// Edit distance counting insertions, deletions, substitutions and swaps of
// two neighbouring characters (optimal string alignment), case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`: the smallest edit distance if it is <= 2
// (and shorter than both words, so "p" does not suggest "eps"), else the
// first candidate that `word` is a prefix of (or that is a prefix of `word`).
// Empty when nothing is close.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

// " (did you mean 'x'?)" or "" — ready to append to a message.
std::string did_you_mean_suffix(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace plinth::config
