// plugin_check_test.cpp — runs the built plinth-plugin-check on real
// plugins: the CPU backend against itself (all pass), the fixture backend
// fx-host (FILL only), a backend whose ADD subtracts (must fail, naming
// BINARY), and bad input (exit 2). Not here: the op numerics themselves.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct Outcome {
  int code = -1;
  std::string out;
};

Outcome run_check(const std::string& args) {
  const std::string cmd = std::string(PLUGIN_CHECK) + " " + args + " 2>/dev/null";
  Outcome r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

nlohmann::json parse(const Outcome& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out.substr(0, 2000);
  return j;
}

TEST(plugin_check, cpu_backend_passes_against_itself_given_only_its_library) {
  Outcome r = run_check(std::string("--json ") + CPU_BACKEND);
  ASSERT_EQ(r.code, 0) << r.out.substr(0, 4000);
  auto j = parse(r);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["component"], "cpu");
  EXPECT_EQ(j["failures"], 0);
  EXPECT_GT((j["supported_cases"].get<int>()), 40);
  int api = 0, passed_ops = 0;
  for (const auto& x : j["results"]) {
    EXPECT_NE(x["status"], "fail") << x.dump();
    if (x["section"] == "api") ++api;
    if (x["section"] == "ops" && x["status"] == "pass") ++passed_ops;
  }
  EXPECT_GT(api, 15);
  EXPECT_GT(passed_ops, 40);
}

TEST(plugin_check, fixture_backend_passes_fill_and_reports_the_rest_unsupported) {
  Outcome r = run_check(std::string("--json --manifest ") + FX_GOOD + " --component fx-host");
  ASSERT_EQ(r.code, 0) << r.out.substr(0, 4000);
  auto j = parse(r);
  int fill_pass = 0, unsupported = 0;
  for (const auto& x : j["results"]) {
    if (x["section"] != "ops") continue;
    const std::string c = x["case"];
    if (x["op"] == "FILL" && c.rfind("f32", 0) == 0) {
      EXPECT_EQ(x["status"], "pass") << x.dump();
      ++fill_pass;
    } else {
      EXPECT_EQ(x["status"], "unsupported") << x.dump();
      ++unsupported;
    }
  }
  EXPECT_EQ(fill_pass, 4);
  EXPECT_GT(unsupported, 60);
}

TEST(plugin_check, wrong_add_fails_and_names_binary) {
  Outcome r = run_check(std::string("--manifest ") + WRONG_ADD_MANIFEST);
  EXPECT_EQ(r.code, 1) << r.out;
  // The table lists the failing BINARY ADD cases, and FILL still passes.
  EXPECT_NE(r.out.find("BINARY"), std::string::npos) << r.out;
  bool binary_fail = false, other_fail = false;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t end = r.out.find('\n', pos);
    if (end == std::string::npos) end = r.out.size();
    const std::string line = r.out.substr(pos, end - pos);
    if (line.find(" fail ") != std::string::npos)
      (line.rfind("BINARY", 0) == 0 ? binary_fail : other_fail) = true;
    pos = end + 1;
  }
  EXPECT_TRUE(binary_fail) << r.out;
  EXPECT_FALSE(other_fail) << r.out;

  Outcome j = run_check(std::string("--json --ops binary --manifest ") + WRONG_ADD_MANIFEST);
  EXPECT_EQ(j.code, 1);
  auto doc = parse(j);
  int failed = 0;
  for (const auto& x : doc["results"])
    if (x["status"] == "fail") {
      EXPECT_EQ(x["op"], "BINARY") << x.dump();
      EXPECT_GT((x["error"].get<double>()), 1e-3);
      ++failed;
    }
  EXPECT_GT(failed, 0);
}

TEST(plugin_check, bad_input_exits_2) {
  EXPECT_EQ(run_check("/no/such/plugin.so").code, 2);
  EXPECT_EQ(run_check("--manifest /no/such/folder").code, 2);
  EXPECT_EQ(run_check(std::string("--ops NOT_AN_OP ") + CPU_BACKEND).code, 2);
  // A manifest folder with several backends needs --component.
  EXPECT_EQ(run_check(std::string("--manifest ") + FX_GOOD).code, 2);
}

}  // namespace
