// plugin_check_test.cpp — runs the built plinth-plugin-check on real
// plugins: the CPU backend against itself (all pass), the fixture backend
// fx-host (FILL only), deliberately broken backends (ADD subtracts; a
// claimed ADD whose launch fails; copies that stop at 4 KiB: each must fail,
// naming the case, in the table and in --json), the standard optimizers
// (pass against the tool's rules, fail against the wrong rule), and bad
// input (exit 2). Not here: the op numerics themselves; the MPI communicator
// (ctest tools.plugin_check.comm_mpi_*).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace {

struct Outcome {
  int code = -1;
  std::string out;
};

// `env`: VAR=value words put before the command.
Outcome run_check(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " " + std::string(PLUGIN_CHECK) + " " + args + " 2>/dev/null";
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
  Outcome r = run_check(std::string("--manifest ") + BROKEN_MANIFESTS "/wrong-add.toml");
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

  Outcome j = run_check(std::string("--json --ops binary --manifest ") + BROKEN_MANIFESTS "/wrong-add.toml");
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

// The table's lines whose STATUS column is "fail".
std::vector<std::string> failing_lines(const std::string& out) {
  std::vector<std::string> v;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(pos, end - pos);
    if (line.find(" fail ") != std::string::npos) v.push_back(line);
    pos = end + 1;
  }
  return v;
}

TEST(plugin_check, claimed_op_whose_launch_fails_is_reported_by_case) {
  Outcome r = run_check(std::string("--manifest ") + BROKEN_MANIFESTS "/add-errors.toml");
  EXPECT_EQ(r.code, 1) << r.out;
  const auto lines = failing_lines(r.out);
  ASSERT_FALSE(lines.empty()) << r.out;
  for (const auto& l : lines) EXPECT_EQ(l.rfind("BINARY", 0), 0u) << l << "\n" << r.out;
  // The failing case is named, with the plugin's own message below it.
  EXPECT_NE(r.out.find("ADD [3,17]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("claimed supported, launch failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("add-errors: ADD kernel failed to launch"), std::string::npos) << r.out;

  Outcome j = run_check(std::string("--json --manifest ") + BROKEN_MANIFESTS "/add-errors.toml");
  EXPECT_EQ(j.code, 1);
  auto doc = parse(j);
  EXPECT_EQ(doc["passed"], false);
  int failed = 0;
  for (const auto& x : doc["results"]) {
    if (x["status"] != "fail") continue;
    ++failed;
    EXPECT_EQ(x["op"], "BINARY") << x.dump();
    EXPECT_NE(x["detail"].get<std::string>().find("ADD kernel failed to launch"), std::string::npos)
        << x.dump();
  }
  EXPECT_EQ(doc["failures"], failed);
  EXPECT_GT(failed, 0);
}

TEST(plugin_check, truncating_copy_is_reported_by_case) {
  Outcome r = run_check(std::string("--manifest ") + BROKEN_MANIFESTS "/short-copy.toml");
  EXPECT_EQ(r.code, 1) << r.out;
  const auto lines = failing_lines(r.out);
  ASSERT_FALSE(lines.empty()) << r.out;
  bool big_copy = false;
  for (const auto& l : lines) {
    // Only copies over 4 KiB break; the ops (small tensors) still pass.
    EXPECT_TRUE(l.rfind("api/copy", 0) == 0 || l.rfind("api/threads", 0) == 0) << l << "\n" << r.out;
    big_copy |= l.find("h2d/d2d/d2h 65537 bytes") != std::string::npos;
  }
  EXPECT_TRUE(big_copy) << r.out;
  EXPECT_NE(r.out.find("bytes differ after h2d/d2d/d2h"), std::string::npos) << r.out;

  Outcome j = run_check(std::string("--json --manifest ") + BROKEN_MANIFESTS "/short-copy.toml");
  EXPECT_EQ(j.code, 1);
  auto doc = parse(j);
  bool named = false;
  for (const auto& x : doc["results"])
    if (x["status"] == "fail") {
      EXPECT_EQ(x["section"], "api") << x.dump();
      named |= x["op"] == "copy" && x["case"] == "h2d/d2d/d2h 1048583 bytes at offsets 5/63";
    }
  EXPECT_TRUE(named) << j.out.substr(0, 4000);
}

TEST(plugin_check, standard_optimizers_pass_against_the_reference_rules) {
  Outcome r = run_check(std::string("--json ") + OPTIM_STD);
  ASSERT_EQ(r.code, 0) << r.out.substr(0, 6000);
  auto doc = parse(r);
  EXPECT_EQ(doc["kind"], "optimizer");
  int sgd = 0, adamw = 0, lion = 0, errors = 0;
  for (const auto& x : doc["results"]) {
    EXPECT_EQ(x["status"], "pass") << x.dump();
    const std::string c = x["case"];
    if (c.find("returns an error") != std::string::npos) {
      ++errors;
      continue;
    }
    if (x.contains("error")) {
      EXPECT_LE(x["error"].get<double>(), 1e-8) << x.dump();
      (x["op"] == "sgd" ? sgd : x["op"] == "lion" ? lion : adamw) += 1;
    }
  }
  EXPECT_EQ(sgd, 8);    // 4 configurations, fused and composed
  EXPECT_EQ(adamw, 6);  // 3 configurations, fused and composed
  EXPECT_EQ(lion, 4);   // 2 configurations, fused and composed
  EXPECT_GT(errors, 20);
}

TEST(plugin_check, an_optimizer_checked_against_the_wrong_rule_fails) {
  // sgd's update is not AdamW's: the comparison must see it.
  Outcome r = run_check(std::string("--component sgd --optimizer-rule adamw ") + OPTIM_STD);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("state slots"), std::string::npos) << r.out;
}

TEST(plugin_check, optimizer_that_ignores_apply_weight_decay_fails_the_decay_cases) {
  Outcome r = run_check(std::string("--json --component sgd ") + BROKEN_SGD);
  EXPECT_EQ(r.code, 1) << r.out.substr(0, 4000);
  auto doc = parse(r);
  int failed = 0;
  for (const auto& x : doc["results"]) {
    const std::string c = x["case"];
    const bool decays = c.find("weight_decay=0.0") != std::string::npos;  // 0.01 and 0.05
    if (x["status"] != "fail") {
      EXPECT_FALSE(decays && x.contains("error")) << x.dump();
      continue;
    }
    ++failed;
    EXPECT_TRUE(decays) << x.dump();
    // The parameter excluded from decay is the one that comes out wrong.
    EXPECT_NE(x["detail"].get<std::string>().find("'fc.bias'"), std::string::npos) << x.dump();
  }
  EXPECT_EQ(failed, 4);  // 2 configurations with decay, fused offered and composed
}

// A data source's settings for --data-config, in a file of its own.
std::string data_config(const std::string& name, const std::string& toml) {
  const std::string path = ::testing::TempDir() + "plugin_check_" + name + ".toml";
  FILE* f = std::fopen(path.c_str(), "w");
  EXPECT_NE(f, nullptr);
  std::fputs(toml.c_str(), f);
  std::fclose(f);
  return path;
}

TEST(plugin_check, data_sources_of_the_standard_plugin_pass) {
  // idx on the MNIST digits the test suite prepares, and synthetic with its defaults.
  const std::string idx = data_config("idx", std::string("images = \"") + MNIST_DATA +
                                                 "/train-images-idx3-ubyte.gz\"\nlabels = \"" + MNIST_DATA +
                                                 "/train-labels-idx1-ubyte.gz\"\n");
  for (const std::string& args :
       {"--component idx --data-config " + idx, std::string("--component synthetic")}) {
    Outcome r = run_check("--json " + args + " " + DATA_STD);
    EXPECT_EQ(r.code, 0) << args << "\n" << r.out.substr(0, 4000);
    auto doc = parse(r);
    EXPECT_EQ(doc["kind"], "data");
    EXPECT_GE(doc["results"].size(), 18u) << r.out.substr(0, 4000);
    for (const auto& x : doc["results"]) EXPECT_EQ(x["status"], "pass") << args << " " << x.dump();
  }
}

TEST(plugin_check, each_broken_data_source_fails_the_case_of_its_rule) {
  const std::pair<const char*, const char*> bugs[] = {
      {"changes", "the same read again gives the same bytes"},
      {"order", "indices in another order give each sample's same bytes"},
      {"past_end", "index num_samples (past the end) is an error"},
      {"labels", "field 'label': labels lie in [0, 4)"},
      {"field_range", "field(-1) (out of range) is an error"},
  };
  // Without a bug, every case passes: the failures below are the bugs'.
  Outcome ok =
      run_check("--json --data-config " + data_config("none", "bug = \"none\"\n") + " " + BROKEN_DATA);
  EXPECT_EQ(ok.code, 0) << ok.out.substr(0, 4000);
  const auto ok_doc = parse(ok);
  EXPECT_GE(ok_doc["results"].size(), 18u);
  for (const auto& x : ok_doc["results"]) EXPECT_EQ(x["status"], "pass") << x.dump();
  for (const auto& [bug, expected] : bugs) {
    Outcome r = run_check("--json --data-config " + data_config(bug, std::string("bug = \"") + bug + "\"\n") +
                          " " + BROKEN_DATA);
    EXPECT_EQ(r.code, 1) << bug << "\n" << r.out.substr(0, 4000);
    bool named = false;
    const auto doc = parse(r);
    for (const auto& x : doc["results"])
      if (x["status"] == "fail") named |= x["case"].get<std::string>() == expected;
    EXPECT_TRUE(named) << bug << ": no failed case '" << expected << "'\n" << r.out.substr(0, 4000);
  }
}

TEST(plugin_check, an_optimizer_without_a_reference_rule_gets_the_properties_any_optimizer_must_have) {
  // The template optimizer keeps them; counting-sgd keeps a call count in the
  // instance, so a resumed instance and another parameter order differ.
  Outcome good = run_check(std::string("--json ") + TEMPLATE_OPTIMIZER);
  EXPECT_EQ(good.code, 0) << good.out.substr(0, 4000);
  const auto gdoc = parse(good);
  int properties = 0;
  for (const auto& x : gdoc["results"]) {
    const std::string c = x["case"];
    if (c.find("resumed from the state slots") != std::string::npos ||
        c.find("in another order") != std::string::npos ||
        c.find("learning rate of 0") != std::string::npos ||
        c.find("at 1 and 3 threads") != std::string::npos ||
        c.find("keep the parameters and state finite") != std::string::npos) {
      ++properties;
      EXPECT_EQ(x["status"], "pass") << x.dump();
    }
  }
  EXPECT_EQ(properties, 5) << good.out.substr(0, 4000);
  Outcome bad = run_check(std::string("--json --component counting-sgd ") + BROKEN_SGD);
  EXPECT_EQ(bad.code, 1) << bad.out.substr(0, 4000);
  const auto bdoc = parse(bad);
  std::set<std::string> failed;
  for (const auto& x : bdoc["results"])
    if (x["status"] == "fail") failed.insert(x["case"].get<std::string>());
  EXPECT_EQ(failed,
            (std::set<std::string>{
                "lr=0.01: a new instance resumed from the state slots continues as the uninterrupted one",
                "lr=0.01: the parameters stepped in another order give the same result"}))
      << bad.out.substr(0, 4000);
}

TEST(plugin_check, a_declared_config_key_the_optimizer_never_reads_fails_its_case) {
  // unused-key-sgd declares 'warmup' and never reads it; its other keys
  // (momentum, dampening beside momentum, nesterov, weight_decay) change the
  // steps and pass.
  Outcome r = run_check(std::string("--json --component unused-key-sgd ") + BROKEN_SGD);
  EXPECT_EQ(r.code, 1) << r.out.substr(0, 4000);
  const auto doc = parse(r);
  std::map<std::string, std::string> keys;
  for (const auto& x : doc["results"]) {
    const std::string c = x["case"];
    if (c.find("declared key") != std::string::npos) keys[c] = x["status"];
  }
  EXPECT_EQ(keys, (std::map<std::string, std::string>{
                      {"lr=0.01: declared key 'dampening' changes the steps", "pass"},
                      {"lr=0.01: declared key 'momentum' changes the steps", "pass"},
                      {"lr=0.01: declared key 'nesterov' changes the steps", "pass"},
                      {"lr=0.01: declared key 'warmup' changes the steps", "fail"},
                      {"lr=0.01: declared key 'weight_decay' changes the steps", "pass"}}))
      << r.out.substr(0, 4000);
}

TEST(plugin_check, a_library_exporting_more_than_the_entry_points_is_flagged) {
  // plinth_add_plugin's build exports plinth_plugin_get only; the same source
  // built by hand exports a helper too: a warning naming it (the plugin works).
  for (const auto& [lib, leaky] : {std::pair<std::string, bool>{BROKEN_DATA, false}, {LEAKY_DATA, true}}) {
    Outcome r = run_check("--json " + lib);
    EXPECT_EQ(r.code, 0) << lib << "\n" << r.out.substr(0, 3000);
    const auto doc = parse(r);
    int rows = 0;
    for (const auto& x : doc["results"]) {
      if (x["op"] != "exports") continue;
      ++rows;
      EXPECT_EQ(x["status"], leaky ? "warn" : "pass") << x.dump();
      if (leaky) {
        const std::string d = x["detail"];
        EXPECT_NE(d.find("broken_data_leaky_helper"), std::string::npos) << d;
        EXPECT_NE(d.find("plinth_add_plugin"), std::string::npos) << d;
      }
    }
    EXPECT_EQ(rows, 1) << lib;
  }
}

// A plugin that crashes or hangs in some cases, for every kind checked in
// child processes: each such case is a failed row naming how the plugin
// ended, the run goes on to the end (later cases pass), and the exit code is 1.
struct Ended {
  std::vector<std::string> cases;  // failed rows that say how the plugin ended
  std::vector<std::string> passed;
};
Ended ended_cases(const Outcome& r, const std::string& how) {
  Ended e;
  const auto doc = parse(r);
  for (const auto& x : doc["results"]) {
    if (x["status"] == "pass") e.passed.push_back(x["case"]);
    if (x["status"] == "fail" && x.value("detail", "").find(how) != std::string::npos)
      e.cases.push_back(x["case"]);
  }
  return e;
}

TEST(plugin_check, a_crashing_or_hanging_plugin_is_named_by_case_and_the_run_goes_on) {
  // The fixtures raise SIGSEGV; under AddressSanitizer (abort_on_error) the
  // child ends with SIGABRT instead, so any signal named counts as the crash.
  const std::string bk = BROKEN_MANIFESTS;
  // Backends: the large ADD cases end the plugin; the malformed launches run after them.
  for (const auto& [name, how] : {std::pair<std::string, std::string>{"crash-add", "the plugin died of SIG"},
                                  {"hang-add", "hung: no case finished within 2 s"}}) {
    Outcome r = run_check("--json --case-timeout 2 --manifest " + bk + "/" + name + ".toml");
    EXPECT_EQ(r.code, 1) << name << "\n" << r.out.substr(0, 3000);
    const Ended e = ended_cases(r, how);
    EXPECT_GE(e.cases.size(), 1u) << name << "\n" << r.out.substr(0, 3000);
    const bool errors_ran = std::any_of(e.passed.begin(), e.passed.end(), [](const std::string& c) {
      return c.find("returns an error") != std::string::npos || c.find("NULL") != std::string::npos;
    });
    EXPECT_TRUE(errors_ran) << name << ": the malformed launches after the ended cases did not run\n"
                            << r.out.substr(0, 3000);
  }
  // Optimizers: step 5 of the bias ends the plugin in both numeric cases, the
  // properties and the declared keys' runs; the malformed calls still run and pass.
  for (const auto& [name, how] :
       {std::pair<std::string, std::string>{"crashing-sgd", "the plugin died of SIG"},
        {"hanging-sgd", "hung: no case finished within 1 s"}}) {
    Outcome r = run_check("--json --case-timeout 1 --component " + name + " " + BROKEN_SGD);
    EXPECT_EQ(r.code, 1) << name << "\n" << r.out.substr(0, 3000);
    const Ended e = ended_cases(r, how);
    EXPECT_EQ(e.cases, (std::vector<std::string>{"lr=0.01 (fused ops offered)", "lr=0.01 (composed ops)",
                                                 "the properties any optimizer must have",
                                                 "its declared config keys are used"}))
        << name << "\n"
        << r.out.substr(0, 3000);
    EXPECT_GE(e.passed.size(), 8u) << name << ": the malformed calls did not run\n" << r.out.substr(0, 3000);
  }
  // Data sources: the reads end the plugin; the schema checks before them pass.
  for (const auto& [bug, how] : {std::pair<std::string, std::string>{"crash", "the plugin died of SIG"},
                                 {"hang", "hung: no case finished within 1 s"}}) {
    Outcome r = run_check("--json --case-timeout 1 --data-config " +
                          data_config(bug, "bug = \"" + bug + "\"\n") + " " + BROKEN_DATA);
    EXPECT_EQ(r.code, 1) << bug << "\n" << r.out.substr(0, 3000);
    const Ended e = ended_cases(r, how);
    EXPECT_EQ(e.cases, (std::vector<std::string>{"reads"})) << bug << "\n" << r.out.substr(0, 3000);
    EXPECT_GE(e.passed.size(), 8u) << bug << "\n" << r.out.substr(0, 3000);
  }
}

TEST(plugin_check, communicator_with_short_copies_and_unchecked_root_fails_those_cases) {
  Outcome r = run_check(std::string("--json ") + BROKEN_COMM);
  EXPECT_EQ(r.code, 1) << r.out.substr(0, 4000);
  auto doc = parse(r);
  EXPECT_EQ(doc["kind"], "comm");
  EXPECT_EQ(doc["world_size"], 1);
  int big = 0, root = 0;
  for (const auto& x : doc["results"]) {
    if (x["status"] != "fail") continue;
    const std::string c = x["case"];
    if (c.find(">1 MiB") != std::string::npos) {
      EXPECT_NE(x["detail"].get<std::string>().find("elements wrong"), std::string::npos) << x.dump();
      ++big;
    } else if (c.find("broadcast from root") != std::string::npos) {
      EXPECT_EQ(x["op"], "errors") << x.dump();
      ++root;
    } else {
      ADD_FAILURE() << "unexpected failure: " << x.dump();
    }
  }
  EXPECT_GT(big, 8) << r.out.substr(0, 4000);
  EXPECT_EQ(root, 2);  // root -1 and root = size
  // The table names them too.
  Outcome t = run_check(BROKEN_COMM);
  EXPECT_EQ(t.code, 1);
  EXPECT_NE(t.out.find("broadcast from root = size returns an error"), std::string::npos) << t.out;
}

// A communicator that crashes or hangs in all_gather: the rows before it
// (all_reduce, reduce_scatter) are reported, the case it ended in is a
// failed row naming how, and the tool reaches its report and exits 1.
TEST(plugin_check, a_crashing_or_hanging_communicator_is_named_by_case) {
  for (const auto& [bug, how] : {std::pair<std::string, std::string>{"crash", "the plugin died of SIG"},
                                 {"hang", "hung: no case finished within 2 s"}}) {
    Outcome r =
        run_check("--json --case-timeout 2 " + std::string(BROKEN_COMM), "PLINTH_TEST_COMM_BUG=" + bug);
    EXPECT_EQ(r.code, 1) << bug << "\n" << r.out.substr(0, 4000);
    const auto doc = parse(r);
    bool ended = false, before = false;
    for (const auto& x : doc["results"]) {
      const std::string detail = x.value("detail", "");
      if (x["case"] == "all_gather cases" && x["status"] == "fail") {
        ended = detail.find(how) != std::string::npos && detail.find("did not run") != std::string::npos;
        EXPECT_TRUE(ended) << x.dump();
      }
      before |= x["op"] == "all_reduce" && x["status"] == "pass";
    }
    EXPECT_TRUE(ended) << bug << "\n" << r.out.substr(0, 4000);
    EXPECT_TRUE(before) << bug << ": the all_reduce rows before the crash are missing\n"
                        << r.out.substr(0, 4000);
  }
}

TEST(plugin_check, bad_input_exits_2) {
  EXPECT_EQ(run_check("/no/such/plugin.so").code, 2);
  EXPECT_EQ(run_check("--manifest /no/such/folder").code, 2);
  EXPECT_EQ(run_check(std::string("--ops NOT_AN_OP ") + CPU_BACKEND).code, 2);
  // A manifest folder with several backends needs --component.
  EXPECT_EQ(run_check(std::string("--manifest ") + FX_GOOD).code, 2);
}

// Run with stderr kept: the tool names a plugin that failed to load there
// ("#" makes a comment of the 2>/dev/null run_check appends).
Outcome run_check_all(const std::string& args) { return run_check(args + " 2>&1 #"); }

}  // namespace

// A library whose init (or constructors) crashes, aborts, exits or hangs is
// loaded in a probe process first: the tool names how it died and exits 2
// instead of dying, hanging or exiting 0 with it.
TEST(plugin_check, a_library_whose_init_dies_is_named_with_how_it_died) {
  const std::string lib = std::string(FX_LIBS) + "/libfx-init-";
  struct Want {
    const char* name;
    std::string death;
  };
  std::vector<Want> wants = {{"abort", "aborted (SIGABRT)"},
                             {"exit", "exited with status 0"},
                             {"hang", "hung past the 2 s limit (killed)"}};
  if (!std::getenv("ASAN_OPTIONS")) wants.push_back({"segv", "died of signal 11 (SIGSEGV)"});
  for (const auto& w : wants) {
    Outcome r = run_check_all("--probe-timeout 2 " + lib + w.name + ".so");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("plugin 'fx-init-" + std::string(w.name) + "' (" + lib + w.name +
                         ".so) failed to load: " + w.death + " during init (in a probe process; not loaded)"),
              std::string::npos)
        << r.out;
  }
}

// Beside working plugins: each broken one is named, the good backend is
// still checked (its table printed), and the exit status is 2.
TEST(plugin_check, broken_plugins_beside_a_good_one_are_named_and_the_good_one_checked) {
  Outcome r =
      run_check_all(std::string("--probe-timeout 2 --manifest ") + FX_INIT_CRASH + " --component fx-host");
  EXPECT_EQ(r.code, 2) << r.out;
  for (const char* n : {"segv", "abort", "exit", "hang"})
    EXPECT_NE(r.out.find("plugin 'fx-init-" + std::string(n) + "'"), std::string::npos) << n << "\n" << r.out;
  EXPECT_NE(r.out.find("plinth-plugin-check: backend 'fx-host'"), std::string::npos) << r.out;
}
