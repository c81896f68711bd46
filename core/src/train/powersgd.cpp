// powersgd.cpp — the local arithmetic of PowerSGD for one matrix: projection
// onto the warm-started Q, Gram-Schmidt, back-projection, reconstruction and
// the error-feedback residual. Sums accumulate in double.
// Not here: the all-reduces between the phases (train/data_parallel.cpp).
#include "train/powersgd.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace plinth::train {

PowerSgdMatrix::PowerSgdMatrix(size_t n, size_t m, size_t rank, uint64_t seed)
    : n_(n), m_(m), r_(std::max<size_t>(1, std::min({rank, n, m}))) {
  q_.resize(m_ * r_);
  std::mt19937_64 gen(seed);
  // Uniform in [-1, 1) from the raw 64-bit draws: the same on every platform.
  for (float& x : q_) x = static_cast<float>(static_cast<double>(gen() >> 11) * 0x1.0p-52 - 1.0);
  e_.assign(n_ * m_, 0.f);
  m_buf_.assign(n_ * m_, 0.f);
}

void PowerSgdMatrix::project(const float* g, float scale, float* p) {
  for (size_t i = 0; i < n_ * m_; ++i) m_buf_[i] = scale * g[i] + e_[i];
  for (size_t i = 0; i < n_; ++i) {
    const float* row = m_buf_.data() + i * m_;
    for (size_t k = 0; k < r_; ++k) {
      double s = 0;
      for (size_t j = 0; j < m_; ++j) s += static_cast<double>(row[j]) * q_[j * r_ + k];
      p[i * r_ + k] = static_cast<float>(s);
    }
  }
}

void PowerSgdMatrix::back_project(float* p, float* q) {
  // Modified Gram-Schmidt on the columns of p (n×r, row-major).
  for (size_t k = 0; k < r_; ++k) {
    for (size_t c = 0; c < k; ++c) {
      double d = 0;
      for (size_t i = 0; i < n_; ++i) d += static_cast<double>(p[i * r_ + k]) * p[i * r_ + c];
      for (size_t i = 0; i < n_; ++i) p[i * r_ + k] -= static_cast<float>(d * p[i * r_ + c]);
    }
    double nn = 0;
    for (size_t i = 0; i < n_; ++i) nn += static_cast<double>(p[i * r_ + k]) * p[i * r_ + k];
    // A zero column (a zero gradient) stays zero rather than dividing by zero.
    const double inv = 1.0 / (std::sqrt(nn) + 1e-8);
    for (size_t i = 0; i < n_; ++i) p[i * r_ + k] = static_cast<float>(p[i * r_ + k] * inv);
  }
  // q = Mᵀ p.
  std::vector<double> acc(m_ * r_, 0.0);
  for (size_t i = 0; i < n_; ++i) {
    const float* row = m_buf_.data() + i * m_;
    for (size_t j = 0; j < m_; ++j)
      for (size_t k = 0; k < r_; ++k) acc[j * r_ + k] += static_cast<double>(row[j]) * p[i * r_ + k];
  }
  for (size_t x = 0; x < m_ * r_; ++x) q[x] = static_cast<float>(acc[x]);
}

void PowerSgdMatrix::reconstruct(const float* p, const float* q, float* out) {
  for (size_t i = 0; i < n_; ++i)
    for (size_t j = 0; j < m_; ++j) {
      double s = 0;
      for (size_t k = 0; k < r_; ++k) s += static_cast<double>(p[i * r_ + k]) * q[j * r_ + k];
      const size_t x = i * m_ + j;
      out[x] = static_cast<float>(s);
      e_[x] = m_buf_[x] - out[x];
    }
  std::copy(q, q + m_ * r_, q_.begin());
}

bool powersgd_pays(int64_t n, int64_t m, int64_t rank) {
  if (n <= 1 || m <= 1 || rank < 1) return false;
  const int64_t r = std::min({rank, n, m});
  return r * (n + m) < n * m;
}

}  // namespace plinth::train
