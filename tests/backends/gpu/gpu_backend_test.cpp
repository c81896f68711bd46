// gpu_backend_test.cpp — the GPU backends without a GPU:
// - the emulation plugin (the real kernels run serially on the host) passes
//   plinth-plugin-check against the CPU backend and claims every op case;
// - the CUDA and HIP plugins load through the registry; where the machine has
//   no driver/device they score 0, refuse device_count and create with the
//   one-line reason, and where it has one they score > 0 and create works;
// - their supports() answers equal the emulation's on a set of probes.
// What needs a real GPU (the kernels' results on the device, cuBLAS) is run
// by plinth-plugin-check on such a machine: backends/gpu/README.md.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "exec/backend.hpp"
#include "plinth/registry.hpp"

namespace {

struct Outcome {
  int code = -1;
  std::string out;
};

Outcome run(const std::string& cmd) {
  Outcome r;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

TEST(gpu_emulation, passes_plugin_check_against_the_cpu_backend_on_every_case) {
  Outcome r =
      run(std::string(PLUGIN_CHECK) + " --json " + EMU_PLUGIN + " --reference-manifest " + CPU_MANIFESTS);
  ASSERT_EQ(r.code, 0) << r.out.substr(0, 6000);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out.substr(0, 2000);
  EXPECT_EQ(j["component"], "gpu-emu");
  EXPECT_EQ(j["failures"], 0);
  int api = 0, passed = 0, unsupported = 0, no_reference = 0;
  for (const auto& x : j["results"]) {
    EXPECT_NE(x["status"], "fail") << x.dump();
    if (x["section"] == "api") ++api;
    if (x["section"] != "ops") continue;
    passed += x["status"] == "pass";
    unsupported += x["status"] == "unsupported";
    no_reference += x["status"] == "no-reference";
  }
  EXPECT_GT(api, 15);
  // Every case is claimed; the one the CPU cannot run (bf16-output MATMUL) is no-reference.
  EXPECT_EQ(unsupported, 0);
  EXPECT_LE(no_reference, 1);
  EXPECT_GE(passed, 105);
}

// Loads `manifest`'s backend through the registry. Without the driver
// (`no_driver`) it must score 0 and fail create with `reason`; with one, a
// score > 0 must come with a working create, and a score of 0 with `no_device`
// (the reason given when the driver is there but no device is).
void check_scoring(const std::string& manifest, const std::string& component, bool no_driver,
                   const std::string& reason, const std::string& no_device) {
  plinth::DiscoveryOptions opt;
  opt.pipeline_manifests = {manifest};
  opt.use_environment = opt.use_user = opt.use_system = opt.use_install = false;
  auto reg = plinth::Registry::open(opt);
  ASSERT_TRUE(reg.ok()) << reg.status().message();
  const plinth::PluginInfo* info = nullptr;
  for (const auto& p : (*reg)->plugins())
    if (!p.components.empty() && p.components[0].name == component) info = &p;
  ASSERT_NE(info, nullptr) << "no plugin with component " << component;
  ASSERT_EQ(info->state, plinth::PluginState::loaded) << info->reason << " " << info->hint;
  ASSERT_TRUE(info->score.has_value()) << "plinth_plugin_score is not exported";
  auto be = plinth::exec::Backend::create(**reg, component, nullptr, 0);
  if (!no_driver && *info->score > 0) {
    EXPECT_TRUE(be.ok()) << be.status().message();
    return;
  }
  EXPECT_EQ(*info->score, 0);
  ASSERT_FALSE(be.ok());
  const std::string msg = be.status().message();
  EXPECT_NE(msg.find(no_driver ? reason : no_device), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "the reason is one line: " << msg;
}

TEST(gpu_cuda, loads_without_a_device_and_scores_zero_with_the_reason) {
  if (std::string(CUDA_MANIFEST).empty())
    GTEST_SKIP() << "plinth-backend-cuda is not built (PLINTH_WITH_CUDA=OFF)";
  void* drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (drv) dlclose(drv);
  check_scoring(CUDA_MANIFEST, "cuda", drv == nullptr,
                "CUDA driver not found (libcuda.so.1: ", "no CUDA device");
}

TEST(gpu_hip, loads_without_a_device_and_scores_zero_with_the_reason) {
  if (std::string(HIP_MANIFEST).empty())
    GTEST_SKIP() << "plinth-backend-hip is not built (PLINTH_WITH_HIP=OFF)";
  const bool kfd = access("/dev/kfd", R_OK | W_OK) == 0;
  check_scoring(HIP_MANIFEST, "hip", !kfd, "ROCm kernel driver not usable (/dev/kfd: ", "no ROCm device");
}

void expect_same_supports(const char* dump, const char* what) {
  if (std::string(dump).empty()) GTEST_SKIP() << what << " is not built";
  Outcome emu = run(EMU_DUMP), other = run(dump);
  ASSERT_EQ(emu.code, 0);
  ASSERT_EQ(other.code, 0);
  EXPECT_EQ(other.out, emu.out);
  // The probes hold both answers, so an always-0 or always-1 supports() fails.
  EXPECT_NE(emu.out.find("\n1 "), std::string::npos);
  EXPECT_NE(emu.out.find("\n0 "), std::string::npos);
}

TEST(gpu_cuda, supports_agrees_with_the_emulation) { expect_same_supports(CUDA_DUMP, "plinth-backend-cuda"); }
TEST(gpu_hip, supports_agrees_with_the_emulation) { expect_same_supports(HIP_DUMP, "plinth-backend-hip"); }

}  // namespace
