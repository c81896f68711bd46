// powersgd.hpp — PowerSGD (Vogels et al. 2019, Algorithm 1): the low-rank
// compressor of one n×m gradient matrix, with error feedback and a warm-started
// Q, split into the three local phases around its two all-reduces (the caller
// averages P and Q over ranks between them).
// Not here: which tensors are compressed, the all-reduces, warm-up (distributed/data_parallel.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace plinth::train {

class PowerSgdMatrix {
 public:
  // An n×m matrix (row-major) at rank r (clamped to min(n, m)); Q starts
  // random from `seed`, the same on every rank given the same seed.
  PowerSgdMatrix(size_t n, size_t m, size_t rank, uint64_t seed);

  size_t rows() const { return n_; }
  size_t cols() const { return m_; }
  size_t rank() const { return r_; }
  size_t p_size() const { return n_ * r_; }  // floats in P
  size_t q_size() const { return m_ * r_; }  // floats in Q

  // Phase 1: M = scale·g + e (error feedback); p = M Q (n×r).
  void project(const float* g, float scale, float* p);
  // Phase 2: p holds the mean of P over ranks; orthonormalise its columns
  // in place (Gram-Schmidt); q = Mᵀ p (m×r).
  void back_project(float* p, float* q);
  // Phase 3: p as left by phase 2, q the mean of Q over ranks:
  // out = p qᵀ (n×m), e = M − out, and q is kept as the next step's warm start.
  // A non-finite p or q (an overflowing gradient) restarts the state instead.
  void reconstruct(const float* p, const float* q, float* out);
  // e = 0 and Q from the seed again.
  void restart();

  // Resume: Q (m×r) and the residual (n×m) from a checkpoint.
  void set_state(const float* q, const float* e);

  const std::vector<float>& error() const { return e_; }
  const std::vector<float>& q() const { return q_; }

 private:
  size_t n_, m_, r_;
  uint64_t seed_;
  std::vector<float> q_;      // m×r, warm start
  std::vector<float> e_;      // n×m, this rank's residual
  std::vector<float> m_buf_;  // n×m, this step's M
  std::vector<float> qt_;     // r×m, Q transposed (scratch)
};

// Whether compressing an n×m matrix at `rank` sends fewer floats than the
// matrix itself: rank·(n + m) < n·m, and neither side is 1.
bool powersgd_pays(int64_t n, int64_t m, int64_t rank);

}  // namespace plinth::train
