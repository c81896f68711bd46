// mpi_test.cpp — the MPI communicator's collectives against values computed
// here in double from every rank's known inputs. Run under
// `mpirun -np N` (tests/plugins/comm/run_mpi.sh); each rank runs every test
// in the same order, so the collectives match. The timeout tests run only
// when PLINTH_MPI_TIMEOUT_TEST=1 (their run leaves MPI unfinalized; see
// CMakeLists.txt).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "fake_host.hpp"
#include "plinth/comm.h"

extern "C" const plinth_plugin* plinth_plugin_get(void);

namespace {

const plinth_comm_v1* table() {
  const plinth_plugin* p = plinth_plugin_get();
  return static_cast<const plinth_comm_v1*>(p->components[0].table);
}

plinth::test::fake_host& host() {
  static plinth::test::fake_host h;
  return h;
}

// One communicator for the whole run; MPI is finalized by the plugin's
// shutdown() when the tests end.
struct Env : ::testing::Environment {
  static plinth_comm* comm;
  static plinth_comm_info info;
  void SetUp() override {
    ASSERT_EQ(table()->create(host().host(), host().config("timeout_s = 20"), &comm), PLINTH_OK)
        << host().last_error();
    info.struct_size = PLINTH_COMM_INFO_STRUCT_SIZE;
    ASSERT_EQ(table()->info(comm, &info), PLINTH_OK);
  }
  void TearDown() override {
    table()->destroy(comm);
    if (!std::getenv("PLINTH_MPI_TIMEOUT_TEST")) plinth_plugin_get()->shutdown();
  }
};
plinth_comm* Env::comm = nullptr;
plinth_comm_info Env::info{};
[[maybe_unused]] auto* const g_env = ::testing::AddGlobalTestEnvironment(new Env);

int R() { return Env::info.rank; }
int N() { return Env::info.size; }

uint16_t to_bf16(float f) {  // exact for the small integers used here
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16);
}
float from_bf16(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(comm_mpi, info_matches_the_launcher) {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  ASSERT_TRUE(size && rank) << "run under Open MPI's mpirun";
  EXPECT_EQ(N(), std::atoi(size));
  EXPECT_EQ(R(), std::atoi(rank));
  EXPECT_EQ(Env::info.local_size, N());  // one machine
  EXPECT_EQ(Env::info.local_rank, R());
  EXPECT_EQ(table()->supports_memory(Env::comm, PLINTH_MEMORY_HOST), 1);
  EXPECT_EQ(table()->supports_memory(Env::comm, PLINTH_MEMORY_CUDA), 0);
}

TEST(comm_mpi, all_reduce_sum_and_avg_f32) {
  const int n = 1000;
  std::vector<float> send(n), recv(n, -1.f);
  for (int i = 0; i < n; ++i) send[i] = static_cast<float>((R() + 1) * 0.25 * i + 0.5);
  ASSERT_EQ(table()->all_reduce(Env::comm, send.data(), recv.data(), n, PLINTH_DTYPE_F32,
                                PLINTH_REDUCE_OP_SUM, PLINTH_MEMORY_HOST, nullptr),
            PLINTH_OK)
      << host().last_error();
  for (int i = 0; i < n; ++i) {
    double want = 0;
    for (int r = 0; r < N(); ++r) want += (r + 1) * 0.25 * i + 0.5;
    ASSERT_NEAR(recv[i], want, 1e-6 * std::abs(want) + 1e-6) << i;
  }
  // AVG, in place.
  ASSERT_EQ(table()->all_reduce(Env::comm, send.data(), send.data(), n, PLINTH_DTYPE_F32,
                                PLINTH_REDUCE_OP_AVG, PLINTH_MEMORY_HOST, nullptr),
            PLINTH_OK);
  for (int i = 0; i < n; ++i) {
    double want = 0;
    for (int r = 0; r < N(); ++r) want += (r + 1) * 0.25 * i + 0.5;
    ASSERT_NEAR(send[i], want / N(), 1e-6 * std::abs(want) + 1e-6) << i;
  }
}

TEST(comm_mpi, all_reduce_max_i32_and_min_f64) {
  std::vector<int32_t> a = {R(), -R(), 7 * R() - 3};
  ASSERT_EQ(table()->all_reduce(Env::comm, a.data(), a.data(), 3, PLINTH_DTYPE_I32, PLINTH_REDUCE_OP_MAX,
                                PLINTH_MEMORY_HOST, nullptr),
            PLINTH_OK);
  EXPECT_EQ(a[0], N() - 1);
  EXPECT_EQ(a[1], 0);
  EXPECT_EQ(a[2], 7 * (N() - 1) - 3);
  std::vector<double> d = {1.5 - R(), 1e300 * (R() + 1)};
  ASSERT_EQ(table()->all_reduce(Env::comm, d.data(), d.data(), 2, PLINTH_DTYPE_F64, PLINTH_REDUCE_OP_MIN,
                                PLINTH_MEMORY_HOST, nullptr),
            PLINTH_OK);
  EXPECT_EQ(d[0], 1.5 - (N() - 1));
  EXPECT_EQ(d[1], 1e300);
}

TEST(comm_mpi, all_reduce_bf16_and_f16_sum_in_float) {
  // Small integers: exact in bf16 and f16, so the sums are exact too.
  const int n = 64;
  std::vector<uint16_t> b(n);
  for (int i = 0; i < n; ++i) b[i] = to_bf16(static_cast<float>(i - 20 + R()));
  ASSERT_EQ(table()->all_reduce(Env::comm, b.data(), b.data(), n, PLINTH_DTYPE_BF16, PLINTH_REDUCE_OP_SUM,
                                PLINTH_MEMORY_HOST, nullptr),
            PLINTH_OK);
  for (int i = 0; i < n; ++i) {
    double want = 0;
    for (int r = 0; r < N(); ++r) want += i - 20 + r;
    EXPECT_EQ(from_bf16(b[i]), want) << i;
  }
  // f16 bit patterns of 1.0 (0x3c00), 2.0 (0x4000), -0.5 (0xb800).
  std::vector<uint16_t> h = {0x3c00, 0x4000, 0xb800};
  ASSERT_EQ(table()->all_reduce(Env::comm, h.data(), h.data(), 3, PLINTH_DTYPE_F16, PLINTH_REDUCE_OP_AVG,
                                PLINTH_MEMORY_HOST, nullptr),
            PLINTH_OK);
  EXPECT_EQ(h[0], 0x3c00);  // average of N copies of 1.0
  EXPECT_EQ(h[1], 0x4000);
  EXPECT_EQ(h[2], 0xb800);
}

// Large buffers take the ring schedule (blocks of n / N, the remainder
// spread over the first blocks), and so do those just above the eager
// message size (1500 floats on 2 ranks); small ones recursive doubling or
// MPI's own: sizes around the switch, counts that do not divide by N, every op,
// in place and not, f32 and bf16. Integers small enough to be exact, so the
// sums are compared exactly with values computed here.
TEST(comm_mpi, all_reduce_large_and_odd_counts_every_op) {
  for (const uint64_t n : {1ull, 5ull, 1001ull, 1500ull, 8191ull, 8192ull, 8193ull, 100003ull, 1ull << 20}) {
    std::vector<float> in(n), out(n, -7.f), inplace(n);
    auto val = [](uint64_t i, int r) {
      return static_cast<float>(static_cast<int64_t>(i % 97) - 40 + 3 * r);
    };
    for (uint64_t i = 0; i < n; ++i) in[i] = inplace[i] = val(i, R());
    for (const auto op : {PLINTH_REDUCE_OP_SUM, PLINTH_REDUCE_OP_MAX, PLINTH_REDUCE_OP_MIN}) {
      ASSERT_EQ(table()->all_reduce(Env::comm, in.data(), out.data(), n, PLINTH_DTYPE_F32, op,
                                    PLINTH_MEMORY_HOST, nullptr),
                PLINTH_OK)
          << host().last_error();
      for (uint64_t i = 0; i < n; ++i) {
        double want = op == PLINTH_REDUCE_OP_SUM ? 0 : val(i, 0);
        for (int r = 0; r < N(); ++r) {
          const double v = val(i, r);
          want = op == PLINTH_REDUCE_OP_SUM   ? want + v
                 : op == PLINTH_REDUCE_OP_MAX ? std::max(want, v)
                                              : std::min(want, v);
        }
        ASSERT_EQ(out[i], want) << "n=" << n << " op=" << op << " i=" << i;
      }
      for (uint64_t i = 0; i < n; ++i) EXPECT_EQ(in[i], val(i, R())) << "the input changed";
    }
    ASSERT_EQ(table()->all_reduce(Env::comm, inplace.data(), inplace.data(), n, PLINTH_DTYPE_F32,
                                  PLINTH_REDUCE_OP_AVG, PLINTH_MEMORY_HOST, nullptr),
              PLINTH_OK);
    for (uint64_t i = 0; i < n; ++i) {
      double want = 0;
      for (int r = 0; r < N(); ++r) want += val(i, r);
      ASSERT_NEAR(inplace[i], want / N(), 1e-5) << "n=" << n << " i=" << i;
    }
    std::vector<uint16_t> b(n);
    for (uint64_t i = 0; i < n; ++i) b[i] = to_bf16(val(i, R()));
    ASSERT_EQ(table()->all_reduce(Env::comm, b.data(), b.data(), n, PLINTH_DTYPE_BF16, PLINTH_REDUCE_OP_SUM,
                                  PLINTH_MEMORY_HOST, nullptr),
              PLINTH_OK);
    for (uint64_t i = 0; i < n; ++i) {
      double want = 0;
      for (int r = 0; r < N(); ++r) want += val(i, r);
      ASSERT_EQ(from_bf16(b[i]), want) << "bf16 n=" << n << " i=" << i;
    }
  }
}

TEST(comm_mpi, broadcast_from_the_last_rank) {
  std::vector<int64_t> v(5);
  for (int i = 0; i < 5; ++i) v[i] = R() == N() - 1 ? 1000 + i : -1;
  ASSERT_EQ(
      table()->broadcast(Env::comm, v.data(), 5, PLINTH_DTYPE_I64, N() - 1, PLINTH_MEMORY_HOST, nullptr),
      PLINTH_OK);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(v[i], 1000 + i);
}

TEST(comm_mpi, all_gather_concatenates_in_rank_order) {
  const int n = 3;
  std::vector<float> send(n), recv(static_cast<size_t>(n * N()), 0.f);
  for (int i = 0; i < n; ++i) send[i] = static_cast<float>(100 * R() + i);
  ASSERT_EQ(table()->all_gather(Env::comm, send.data(), recv.data(), n, PLINTH_DTYPE_F32, PLINTH_MEMORY_HOST,
                                nullptr),
            PLINTH_OK);
  for (int r = 0; r < N(); ++r)
    for (int i = 0; i < n; ++i) EXPECT_EQ(recv[static_cast<size_t>(r * n + i)], 100 * r + i);
}

TEST(comm_mpi, reduce_scatter_gives_each_rank_its_block) {
  const int n = 4;
  std::vector<double> send(static_cast<size_t>(n * N())), recv(n, -1);
  for (int b = 0; b < N(); ++b)
    for (int i = 0; i < n; ++i) send[static_cast<size_t>(b * n + i)] = 10.0 * b + i + 0.125 * R();
  ASSERT_EQ(table()->reduce_scatter(Env::comm, send.data(), recv.data(), n, PLINTH_DTYPE_F64,
                                    PLINTH_REDUCE_OP_SUM, PLINTH_MEMORY_HOST, nullptr),
            PLINTH_OK);
  for (int i = 0; i < n; ++i) {
    double want = 0;
    for (int r = 0; r < N(); ++r) want += 10.0 * R() + i + 0.125 * r;
    EXPECT_DOUBLE_EQ(recv[i], want) << i;
  }
}

TEST(comm_mpi, barrier_and_bad_arguments) {
  EXPECT_EQ(table()->barrier(Env::comm), PLINTH_OK);
  float x = 1;
  // Refused before any communication, on every rank alike.
  EXPECT_EQ(table()->broadcast(Env::comm, &x, 1, PLINTH_DTYPE_F32, N(), PLINTH_MEMORY_HOST, nullptr),
            PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(host().last_error().find("root"), std::string::npos) << host().last_error();
  EXPECT_EQ(table()->all_reduce(Env::comm, &x, &x, 1, PLINTH_DTYPE_F32, PLINTH_REDUCE_OP_SUM,
                                PLINTH_MEMORY_CUDA, nullptr),
            PLINTH_ERR_UNSUPPORTED);
}

TEST(comm_mpi_timeout, a_silent_rank_is_named_within_the_timeout) {
  if (!std::getenv("PLINTH_MPI_TIMEOUT_TEST")) GTEST_SKIP() << "run by the mpi timeout ctest only";
  // Two communicators: one all_reduce takes the small-buffer schedule
  // (recursive doubling), the other the ring (4 MiB), each on its own
  // communicator since a timeout leaves one unusable.
  plinth_comm* c = nullptr;
  plinth_comm* c2 = nullptr;
  ASSERT_EQ(table()->create(host().host(), host().config("timeout_s = 1"), &c), PLINTH_OK);
  ASSERT_EQ(table()->create(host().host(), host().config("timeout_s = 1"), &c2), PLINTH_OK);
  if (R() == 1) {
    // Silent: neither in a collective nor answering pings for a while.
    std::this_thread::sleep_for(std::chrono::seconds(8));
    return;  // never joins; MPI stays unfinalized on purpose
  }
  float x = 1;
  std::vector<float> big(1 << 20, 1.f);
  for (auto [comm, buf, n] :
       {std::tuple{c, &x, uint64_t{1}}, std::tuple{c2, big.data(), uint64_t{big.size()}}}) {
    const auto t0 = std::chrono::steady_clock::now();
    plinth_status s = table()->all_reduce(comm, buf, buf, n, PLINTH_DTYPE_F32, PLINTH_REDUCE_OP_SUM,
                                          PLINTH_MEMORY_HOST, nullptr);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(s, PLINTH_ERR_TIMEOUT) << n;
    EXPECT_NE(host().last_error().find("rank 1 did not answer"), std::string::npos) << host().last_error();
    EXPECT_LT(took, 3.0) << n;
    EXPECT_GE(took, 1.0) << n;
    // Unusable afterwards, with the reason.
    EXPECT_EQ(table()->barrier(comm), PLINTH_ERR_UNAVAILABLE);
    EXPECT_NE(host().last_error().find("earlier failure"), std::string::npos) << host().last_error();
  }
  if (!::testing::Test::HasFailure()) std::printf("TIMEOUT-TEST-OK\n");
}

}  // namespace
