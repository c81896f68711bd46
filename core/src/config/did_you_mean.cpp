// did_you_mean.cpp — edit distance and closest-name suggestion for error
// messages about unknown keys, layer types and schedule names.
// Not here: which names are valid (each caller passes its own list).
#include "config/did_you_mean.hpp"

#include <algorithm>
#include <vector>

namespace plinth::config {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // d[i][j]: distance between a[0..i) and b[0..j); the Damerau transposition
  // term is the "optimal string alignment" variant (no substring edited twice).
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t v = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        v = std::min(v, at(i - 2, j - 2) + 1);
      at(i, j) = v;
    }
  }
  return at(n, m);
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_d = 3;
  for (std::string_view c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d && d < word.size() && d < c.size()) {
      best = c;
      best_d = d;
    }
  }
  if (!best.empty()) return std::string(best);
  if (word.size() >= 2) {
    for (std::string_view c : candidates) {
      if (c.starts_with(word) || (c.size() >= 2 && word.starts_with(c))) return std::string(c);
    }
  }
  return {};
}

std::string did_you_mean_suffix(std::string_view word, std::span<const std::string_view> candidates) {
  std::string s = did_you_mean(word, candidates);
  return s.empty() ? std::string() : " (did you mean '" + s + "'?)";
}

}  // namespace plinth::config
