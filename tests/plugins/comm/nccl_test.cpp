// nccl_test.cpp — the NCCL communicator under `mpirun -np 2`: all-reduce,
// broadcast, all-gather and reduce-scatter on device memory (enqueued on a
// stream) and on host memory (staged), against values computed here from
// every rank's known inputs, and a bad dtype's message. Exits 77 ("no CUDA
// device") when cudaGetDeviceCount gives 0 or fails, before touching MPI.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "fake_host.hpp"
#include "plinth/comm.h"

extern "C" const plinth_plugin* plinth_plugin_get(void);

namespace {

const plinth_comm_v1* table() {
  return static_cast<const plinth_comm_v1*>(plinth_plugin_get()->components[0].table);
}

plinth::test::fake_host& host() {
  static plinth::test::fake_host h;
  return h;
}

struct Env : ::testing::Environment {
  static plinth_comm* comm;
  static plinth_comm_info info;
  void SetUp() override {
    ASSERT_EQ(table()->create(host().host(), host().config("timeout_s = 30"), &comm), PLINTH_OK)
        << host().last_error();
    info.struct_size = PLINTH_COMM_INFO_STRUCT_SIZE;
    ASSERT_EQ(table()->info(comm, &info), PLINTH_OK);
  }
  void TearDown() override {
    table()->destroy(comm);
    plinth_plugin_get()->shutdown();
  }
};
plinth_comm* Env::comm = nullptr;
plinth_comm_info Env::info{};

int R() { return Env::info.rank; }
int N() { return Env::info.size; }

TEST(comm_nccl, declares_device_and_host_memory) {
  EXPECT_EQ(table()->supports_memory(Env::comm, PLINTH_MEMORY_CUDA), 1);
  EXPECT_EQ(table()->supports_memory(Env::comm, PLINTH_MEMORY_HOST), 1);
}

TEST(comm_nccl, all_reduce_sums_device_memory_on_the_stream) {
  const size_t n = 1000;
  std::vector<float> h(n);
  for (size_t i = 0; i < n; ++i) h[i] = static_cast<float>((R() + 1) * i);
  float* d = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d), n * 4), cudaSuccess);
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  cudaMemcpyAsync(d, h.data(), n * 4, cudaMemcpyHostToDevice, s);
  ASSERT_EQ(
      table()->all_reduce(Env::comm, d, d, n, PLINTH_DTYPE_F32, PLINTH_REDUCE_OP_SUM, PLINTH_MEMORY_CUDA, s),
      PLINTH_OK)
      << host().last_error();
  cudaMemcpyAsync(h.data(), d, n * 4, cudaMemcpyDeviceToHost, s);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  const double ranks_sum = N() * (N() + 1) / 2.0;  // sum of (r + 1)
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(h[i], static_cast<float>(ranks_sum * i)) << i;
  cudaFree(d);
  cudaStreamDestroy(s);
}

TEST(comm_nccl, host_memory_collectives_are_staged) {
  std::vector<double> v{1.0 * R(), 2.0 * R() + 1};
  ASSERT_EQ(table()->all_reduce(Env::comm, v.data(), v.data(), 2, PLINTH_DTYPE_F64, PLINTH_REDUCE_OP_MAX,
                                PLINTH_MEMORY_HOST, nullptr),
            PLINTH_OK)
      << host().last_error();
  EXPECT_EQ(v[0], N() - 1.0);
  EXPECT_EQ(v[1], 2.0 * (N() - 1) + 1);
  int64_t b[3] = {R() == 0 ? 7 : -1, R() == 0 ? 8 : -1, R() == 0 ? 9 : -1};
  ASSERT_EQ(table()->broadcast(Env::comm, b, 3, PLINTH_DTYPE_I64, 0, PLINTH_MEMORY_HOST, nullptr), PLINTH_OK);
  EXPECT_EQ(b[0], 7);
  EXPECT_EQ(b[2], 9);
  std::vector<int32_t> mine{R() * 10, R() * 10 + 1}, all(2 * N());
  ASSERT_EQ(table()->all_gather(Env::comm, mine.data(), all.data(), 2, PLINTH_DTYPE_I32, PLINTH_MEMORY_HOST,
                                nullptr),
            PLINTH_OK);
  for (int r = 0; r < N(); ++r) {
    EXPECT_EQ(all[2 * r], r * 10);
    EXPECT_EQ(all[2 * r + 1], r * 10 + 1);
  }
  std::vector<float> rs(N()), out(1);
  for (int r = 0; r < N(); ++r) rs[r] = static_cast<float>(r + R());
  ASSERT_EQ(table()->reduce_scatter(Env::comm, rs.data(), out.data(), 1, PLINTH_DTYPE_F32,
                                    PLINTH_REDUCE_OP_SUM, PLINTH_MEMORY_HOST, nullptr),
            PLINTH_OK);
  EXPECT_EQ(out[0], static_cast<float>(N() * R() + N() * (N() - 1) / 2));  // sum over q of (R + q)
  EXPECT_EQ(table()->barrier(Env::comm), PLINTH_OK);
}

TEST(comm_nccl, rejects_a_dtype_nccl_lacks) {
  uint16_t x = 1;
  EXPECT_EQ(table()->all_reduce(Env::comm, &x, &x, 1, PLINTH_DTYPE_U16, PLINTH_REDUCE_OP_SUM,
                                PLINTH_MEMORY_HOST, nullptr),
            PLINTH_ERR_UNSUPPORTED);
  EXPECT_NE(host().last_error().find("no NCCL type"), std::string::npos) << host().last_error();
}

}  // namespace

int main(int argc, char** argv) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf(
        "SKIP: no CUDA device (cudaGetDeviceCount gives %d or fails): the NCCL communicator needs one\n",
        devices);
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new Env);
  return RUN_ALL_TESTS();
}
