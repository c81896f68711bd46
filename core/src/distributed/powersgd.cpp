// powersgd.cpp — the local arithmetic of PowerSGD for one matrix: projection
// onto the warm-started Q, Gram-Schmidt, back-projection, reconstruction and
// the error-feedback residual. Products accumulate in float (in partial
// sums the compiler vectorises); Gram-Schmidt's norms in double.
// Not here: the all-reduces between the phases (distributed/data_parallel.cpp).
#include "distributed/powersgd.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace plinth::train {

PowerSgdMatrix::PowerSgdMatrix(size_t n, size_t m, size_t rank, uint64_t seed)
    : n_(n), m_(m), r_(std::max<size_t>(1, std::min({rank, n, m}))), seed_(seed) {
  restart();
  m_buf_.assign(n_ * m_, 0.f);
}

void PowerSgdMatrix::restart() {
  q_.resize(m_ * r_);
  std::mt19937_64 gen(seed_);
  // Uniform in [-1, 1) from the raw 64-bit draws: the same on every platform.
  for (float& x : q_) x = static_cast<float>(static_cast<double>(gen() >> 11) * 0x1.0p-52 - 1.0);
  e_.assign(n_ * m_, 0.f);
}

void PowerSgdMatrix::set_state(const float* q, const float* e) {
  std::copy(q, q + m_ * r_, q_.begin());
  std::copy(e, e + n_ * m_, e_.begin());
}

namespace {

// x·y over n floats in eight partial sums (a shape the compiler vectorises
// without reassociating one running sum), added in double at the end.
float dot(const float* x, const float* y, size_t n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (size_t l = 0; l < 8; ++l) s[l] += x[j + l] * y[j + l];
  double t = 0;
  for (; j < n; ++j) t += static_cast<double>(x[j]) * y[j];
  for (float v : s) t += v;
  return static_cast<float>(t);
}

}  // namespace

void PowerSgdMatrix::project(const float* g, float scale, float* p) {
  for (size_t i = 0; i < n_ * m_; ++i) m_buf_[i] = scale * g[i] + e_[i];
  // Qᵀ (r×m) so each P element is one contiguous dot product.
  qt_.resize(r_ * m_);
  for (size_t j = 0; j < m_; ++j)
    for (size_t k = 0; k < r_; ++k) qt_[k * m_ + j] = q_[j * r_ + k];
  for (size_t i = 0; i < n_; ++i)
    for (size_t k = 0; k < r_; ++k) p[i * r_ + k] = dot(m_buf_.data() + i * m_, qt_.data() + k * m_, m_);
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
  // Qᵀ = Pᵀ M, row by row of M (contiguous updates), then q = its transpose.
  qt_.assign(r_ * m_, 0.f);
  for (size_t i = 0; i < n_; ++i) {
    const float* row = m_buf_.data() + i * m_;
    for (size_t k = 0; k < r_; ++k) {
      const float pk = p[i * r_ + k];
      float* out = qt_.data() + k * m_;
      for (size_t j = 0; j < m_; ++j) out[j] += pk * row[j];
    }
  }
  for (size_t j = 0; j < m_; ++j)
    for (size_t k = 0; k < r_; ++k) q[j * r_ + k] = qt_[k * m_ + j];
}

void PowerSgdMatrix::reconstruct(const float* p, const float* q, float* out) {
  qt_.resize(r_ * m_);
  for (size_t j = 0; j < m_; ++j)
    for (size_t k = 0; k < r_; ++k) qt_[k * m_ + j] = q[j * r_ + k];
  for (size_t i = 0; i < n_; ++i) {
    float* o = out + i * m_;
    for (size_t j = 0; j < m_; ++j) o[j] = 0.f;
    for (size_t k = 0; k < r_; ++k) {
      const float pk = p[i * r_ + k];
      const float* qk = qt_.data() + k * m_;
      for (size_t j = 0; j < m_; ++j) o[j] += pk * qk[j];
    }
    const float* mb = m_buf_.data() + i * m_;
    float* e = e_.data() + i * m_;
    for (size_t j = 0; j < m_; ++j) e[j] = mb[j] - o[j];
  }
  std::copy(q, q + m_ * r_, q_.begin());
  // A non-finite gradient (an overflow the trainer will skip) must not stay
  // in the residual or the warm start: P and Q are the same on every rank,
  // so every rank restarts alike.
  bool finite = true;
  for (size_t x = 0; x < n_ * r_; ++x) finite &= std::isfinite(p[x]);
  for (size_t x = 0; x < m_ * r_; ++x) finite &= std::isfinite(q[x]);
  if (!finite) restart();
}

bool powersgd_pays(int64_t n, int64_t m, int64_t rank) {
  if (n <= 1 || m <= 1 || rank < 1) return false;
  const int64_t r = std::min({rank, n, m});
  return r * (n + m) < n * m;
}

}  // namespace plinth::train
