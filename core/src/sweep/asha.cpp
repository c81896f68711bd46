// asha.cpp — the rungs and the asynchronous successive-halving decision
// (Li et al. 2018, "A System for Massively Parallel Hyperparameter Tuning",
// Algorithm 2: get_job promotes from the highest rung that has a promotable
// trial, else grows the bottom rung). Pure bookkeeping: no processes, no files.
#include <algorithm>

#include "sweep/sweep.hpp"

namespace plinth::sweep {

std::vector<int64_t> rung_steps(int64_t min_steps, int64_t max_steps, int64_t eta) {
  std::vector<int64_t> r;
  for (int64_t s = min_steps; s < max_steps; s *= eta) {
    r.push_back(s);
    if (s > max_steps / eta) break;  // the next one would pass max_steps (or overflow)
  }
  r.push_back(max_steps);
  return r;
}

void Asha::record(int trial, int rung, std::optional<double> value, bool final) {
  if (rung < 0 || rung >= rungs_) return;
  if (done_.size() < static_cast<size_t>(rungs_)) done_.resize(rungs_);
  for (auto& e : done_[rung])
    if (e.trial == trial) {
      e.value = value;
      e.final = final;
      return;
    }
  done_[rung].push_back({trial, value, final, false});
}

void Asha::mark_promoted(int trial, int rung) {
  if (rung < 0 || static_cast<size_t>(rung) >= done_.size()) return;
  for (auto& e : done_[rung])
    if (e.trial == trial) e.promoted = true;
}

std::optional<int> Asha::promotable(int rung) const {
  if (rung < 0 || rung + 1 >= rungs_ || static_cast<size_t>(rung) >= done_.size()) return std::nullopt;
  std::vector<const Entry*> v;
  for (const auto& e : done_[rung]) v.push_back(&e);
  // Best first; a missing value ranks last; ties by trial (the earlier first).
  std::stable_sort(v.begin(), v.end(), [&](const Entry* a, const Entry* b) {
    if (a->value.has_value() != b->value.has_value()) return a->value.has_value();
    if (a->value && *a->value != *b->value) return maximize_ ? *a->value > *b->value : *a->value < *b->value;
    return a->trial < b->trial;
  });
  const size_t top = v.size() / static_cast<size_t>(eta_);
  for (size_t i = 0; i < top; ++i)
    if (!v[i]->promoted && !v[i]->final && v[i]->value) return v[i]->trial;
  return std::nullopt;
}

std::optional<Asha::Job> Asha::next_job(int next_new, int n_trials) const {
  for (int k = rungs_ - 2; k >= 0; --k)
    if (auto t = promotable(k)) return Job{*t, k + 1};
  if (next_new < n_trials) return Job{next_new, 0};
  return std::nullopt;
}

}  // namespace plinth::sweep
