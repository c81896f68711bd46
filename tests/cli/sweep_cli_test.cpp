// Runs `plinth sweep` end to end on tiny synthetic-data pipelines: an ASHA
// sweep whose winner must equal the same trial trained straight through (the
// rungs pause and resume exactly), a sweep interrupted with SIGINT and
// resumed (the interrupted trial continues from its checkpoint and ends
// equal to a straight run), and a bad sweep file that leaves nothing behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const fs::path kWork = fs::path(PLINTH_BINARY_DIR) / "tests" / ("sweep-work-" + std::to_string(::getpid()));
const std::string kManifests = std::string(PLINTH_BINARY_DIR) + "/share/plinth/plugins.d";

std::vector<std::string> plinth_args(std::vector<std::string> rest) {
  std::vector<std::string> a = {PLINTH_CLI, "--no-system-plugins", "--no-install-plugins", "--plugin-path",
                                kManifests};
  a.insert(a.end(), rest.begin(), rest.end());
  return a;
}

pid_t start(const std::vector<std::string>& args, const fs::path& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, kWork.c_str());
  std::vector<char*> argv;
  for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

int wait_rc(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) < 0) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int run(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = start(args, log);
  return pid < 0 ? -1 : wait_rc(pid);
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
json read_json(const fs::path& p) { return json::parse(read(p), nullptr, false); }

// A base pipeline: synthetic data, `steps` optimizer steps, one evaluation at the end of each epoch.
void write_base(const fs::path& file, int samples) {
  std::ofstream(file) << R"([run]
name = "base"
seed = 2
[data.train]
source = "synthetic"
samples = )" << samples
                      << R"(
shape = [16]
num_classes = 3
seed = 5
[data.eval]
source = "synthetic"
samples = 200
shape = [16]
num_classes = 3
seed = 5
[[model.layer]]
type = "linear"
out = 16
[[model.layer]]
type = "relu"
[[model.layer]]
type = "linear"
out = 3
[optimizer]
name = "adamw"
lr = 1e-3
[schedule]
type = "cosine"
[train]
epochs = 2
batch_size = 20
log_every = 5
)";
}

class sweep_cli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(kWork);
    fs::create_directories(kWork);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(kWork);
  }
};

TEST_F(sweep_cli, asha_winner_equals_the_same_trial_trained_straight) {
  write_base(kWork / "base.toml", 400);
  std::ofstream(kWork / "sweep.toml") << R"([sweep]
base = "base.toml"
name = "tiny"
metric = "eval_loss"
parallel = 2
threads = 1
[sweep.params]
"optimizer.lr" = [1e-3, 1e-2]
"model.layer.0.out" = [8, 32]
[sweep.asha]
min_steps = 10
max_steps = 40
reduction_factor = 2
)";
  const int rc = run(plinth_args({"sweep", "sweep.toml"}), kWork / "sweep.log");
  ASSERT_EQ(rc, 0) << read(kWork / "sweep.log");
  const fs::path dir = kWork / "runs" / "tiny";
  json st = read_json(dir / "sweep.json");
  ASSERT_TRUE(st.is_object()) << read(dir / "sweep.json");
  EXPECT_TRUE(st["finished"].get<bool>());
  EXPECT_EQ(st["rungs"], json::array({10, 20, 40}));
  // eta 2, 4 trials: at least the top half of rung 0 (2) reach rung 1, and one reaches rung 2.
  int at_rung[3] = {0, 0, 0};
  for (const auto& t : st["trials"])
    for (const auto& r : t["results"]) ++at_rung[r["rung"].get<int>()];
  EXPECT_EQ(at_rung[0], 4);
  EXPECT_GE(at_rung[1], 2);
  EXPECT_GE(at_rung[2], 1);
  json sum = read_json(dir / "summary.json");
  ASSERT_EQ(sum["trials"].size(), 4u);
  const json& best = sum["trials"][0];
  EXPECT_EQ(best["rung"], 2);
  EXPECT_EQ(best["steps"], 40);
  // Ranked: the first trials are those that reached the last rung, by loss.
  for (size_t i = 1; i < sum["trials"].size(); ++i) {
    const json& a = sum["trials"][i - 1];
    const json& b = sum["trials"][i];
    EXPECT_TRUE(a["rung"] > b["rung"] || (a["rung"] == b["rung"] && a["value"] <= b["value"]));
  }
  EXPECT_NE(read(dir / "summary.md").find("| 1 | " + best["trial"].get<std::string>() + " |"),
            std::string::npos);
  // The reference: the winner's pipeline trained without pauses.
  const std::string id = best["trial"];
  ASSERT_EQ(run(plinth_args({"train", "--no-progress", "--out-dir", (kWork / "straight").string(),
                             (dir / (id + ".toml")).string()}),
                kWork / "straight.log"),
            0)
      << read(kWork / "straight.log");
  json ref = read_json(kWork / "straight" / id / "summary.json");
  EXPECT_EQ(ref["steps"], 40);
  EXPECT_DOUBLE_EQ(best["value"].get<double>(), ref["eval_loss"].get<double>());
  // `plinth report runs/<sweep>` overlays the trials.
  ASSERT_EQ(
      run(plinth_args({"report", (dir).string(), "-o", (kWork / "r.html").string()}), kWork / "report.log"),
      0)
      << read(kWork / "report.log");
  EXPECT_NE(read(kWork / "report.log").find("(4 runs)"), std::string::npos) << read(kWork / "report.log");
  EXPECT_NE(read(kWork / "r.html").find(id), std::string::npos);
  // The same sweep again: finished, nothing new runs, the same ranking.
  ASSERT_EQ(run(plinth_args({"sweep", "sweep.toml"}), kWork / "again.log"), 0) << read(kWork / "again.log");
  EXPECT_EQ(read_json(dir / "summary.json")["trials"][0]["trial"], id);
  EXPECT_EQ(read(kWork / "again.log").find("start rung"), std::string::npos) << read(kWork / "again.log");
}

TEST_F(sweep_cli, interrupted_sweep_resumes_where_it_stopped) {
  // Long enough trials (60,000 rows x 2 epochs) that SIGINT lands mid-trial.
  write_base(kWork / "base.toml", 60000);
  std::ofstream(kWork / "sweep.toml") << R"([sweep]
base = "base.toml"
name = "stop"
parallel = 1
threads = 1
[sweep.params]
"optimizer.lr" = [1e-3, 3e-3]
)";
  const pid_t pid = start(plinth_args({"sweep", "sweep.toml"}), kWork / "first.log");
  ASSERT_GT(pid, 0);
  // Wait until the first trial has logged training steps, then Ctrl-C the sweep.
  const fs::path metrics = kWork / "runs" / "stop" / "trial-000" / "metrics.jsonl";
  const auto t0 = std::chrono::steady_clock::now();
  while (read(metrics).find("\"loss\"") == std::string::npos &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  EXPECT_EQ(wait_rc(pid), 130) << read(kWork / "first.log");
  json st = read_json(kWork / "runs" / "stop" / "sweep.json");
  ASSERT_TRUE(st.is_object());
  EXPECT_FALSE(st["finished"].get<bool>());
  EXPECT_EQ(st["trials"][0]["state"], "running");  // to be restarted
  EXPECT_EQ(st["trials"][1]["state"], "new");
  json s0 = read_json(kWork / "runs" / "stop" / "trial-000" / "summary.json");
  ASSERT_TRUE(s0.is_object());
  EXPECT_TRUE(s0["interrupted"].get<bool>());
  const int64_t stopped_at = s0["steps"];
  EXPECT_GT(stopped_at, 0);
  EXPECT_LT(stopped_at, 6000);

  ASSERT_EQ(run(plinth_args({"sweep", "sweep.toml"}), kWork / "second.log"), 0) << read(kWork / "second.log");
  st = read_json(kWork / "runs" / "stop" / "sweep.json");
  EXPECT_TRUE(st["finished"].get<bool>());
  for (const auto& t : st["trials"]) EXPECT_EQ(t["state"], "done") << t.dump();
  json s1 = read_json(kWork / "runs" / "stop" / "trial-000" / "summary.json");
  EXPECT_EQ(s1["resumed_from_step"], stopped_at);
  EXPECT_EQ(s1["steps"], 6000);
  // Equal to trial-000 trained straight through.
  ASSERT_EQ(run(plinth_args({"train", "--no-progress", "--out-dir", (kWork / "straight").string(),
                             (kWork / "runs" / "stop" / "trial-000.toml").string()}),
                kWork / "straight.log"),
            0);
  json ref = read_json(kWork / "straight" / "trial-000" / "summary.json");
  EXPECT_DOUBLE_EQ(s1["eval_loss"].get<double>(), ref["eval_loss"].get<double>());
}

TEST_F(sweep_cli, random_sweep_ranks_by_time_to_target) {
  write_base(kWork / "base.toml", 400);
  {
    std::ofstream f(kWork / "base.toml", std::ios::app);
    f << "eval_every = 5\ntarget_metric = \"eval.accuracy\"\ntarget_value = 0.6\n";
  }
  std::ofstream(kWork / "sweep.toml") << R"([sweep]
base = "base.toml"
name = "ttt"
method = "random"
trials = 3
seed = 4
metric = "time_to_target"
parallel = 1
[sweep.params]
"optimizer.lr" = { log_uniform = [1e-3, 3e-2] }
)";
  ASSERT_EQ(run(plinth_args({"sweep", "sweep.toml"}), kWork / "sweep.log"), 0) << read(kWork / "sweep.log");
  json sum = read_json(kWork / "runs" / "ttt" / "summary.json");
  ASSERT_EQ(sum["trials"].size(), 3u);
  EXPECT_EQ(sum["mode"], "min");
  double last = 0;
  int reached = 0;
  for (const auto& t : sum["trials"]) {
    const double lr = t["params"]["optimizer.lr"];
    EXPECT_GE(lr, 1e-3);
    EXPECT_LE(lr, 3e-2);
    if (t["value"].is_null()) continue;  // never reached: ranked last
    ++reached;
    // The value is the training time of the first evaluation at the target, from metrics.jsonl.
    const fs::path metrics = kWork / "runs" / "ttt" / t["trial"].get<std::string>() / "metrics.jsonl";
    std::ifstream in(metrics);
    std::string line;
    double first = -1;
    while (first < 0 && std::getline(in, line)) {
      json j = json::parse(line);
      if (j.value("target_reached", false)) first = j["time_s"];
    }
    EXPECT_DOUBLE_EQ(t["value"].get<double>(), first);
    EXPECT_GE(t["value"].get<double>(), last);
    last = t["value"];
  }
  EXPECT_GE(reached, 1);
}

TEST_F(sweep_cli, train_pauses_at_a_step_and_resumes_with_other_threads_but_nothing_else) {
  write_base(kWork / "base.toml", 400);  // 2 epochs of 20 batches: 40 steps
  const std::string out = (kWork / "runs").string();
  ASSERT_EQ(run(plinth_args({"train", "--no-progress", "--out-dir", out, "--stop-at-step", "15", "--threads",
                             "1", "base.toml"}),
                kWork / "a.log"),
            0)
      << read(kWork / "a.log");
  json s = read_json(kWork / "runs" / "base" / "summary.json");
  EXPECT_EQ(s["steps"], 15);
  EXPECT_TRUE(s["paused"].get<bool>());
  EXPECT_FALSE(s["interrupted"].get<bool>());
  EXPECT_TRUE(s.contains("eval_loss"));  // evaluated at the pause (step 15 is mid-epoch)
  // Another learning rate is another pipeline: refused.
  std::string other = read(kWork / "base.toml");  // the same [run] name, so the same run folder
  std::ofstream(kWork / "other.toml") << other.replace(other.find("lr = 1e-3"), 9, "lr = 2e-3");
  EXPECT_EQ(run(plinth_args({"train", "--no-progress", "--out-dir", out, "--resume", "other.toml"}),
                kWork / "b.log"),
            2);
  EXPECT_NE(read(kWork / "b.log").find("cannot resume from"), std::string::npos) << read(kWork / "b.log");
  // Two threads instead of one: accepted, and it ends where a straight run does.
  ASSERT_EQ(run(plinth_args(
                    {"train", "--no-progress", "--out-dir", out, "--resume", "--threads", "2", "base.toml"}),
                kWork / "c.log"),
            0)
      << read(kWork / "c.log");
  s = read_json(kWork / "runs" / "base" / "summary.json");
  EXPECT_EQ(s["steps"], 40);
  EXPECT_EQ(s["resumed_from_step"], 15);
  ASSERT_EQ(run(plinth_args({"train", "--no-progress", "--out-dir", (kWork / "straight").string(),
                             "--threads", "1", "base.toml"}),
                kWork / "d.log"),
            0);
  json ref = read_json(kWork / "straight" / "base" / "summary.json");
  EXPECT_NEAR(s["eval_loss"].get<double>(), ref["eval_loss"].get<double>(), 1e-5);
}

TEST_F(sweep_cli, bad_sweep_file_names_file_line_and_key_and_writes_nothing) {
  write_base(kWork / "base.toml", 100);
  std::ofstream(kWork / "sweep.toml") << "[sweep]\nbase = \"base.toml\"\n[sweep.params]\n"
                                         "\"optimizer.lr\" = [1e-3]\n\"model.layer.5.out\" = [4]\n";
  EXPECT_EQ(run(plinth_args({"sweep", "sweep.toml"}), kWork / "bad.log"), 2);
  const std::string out = read(kWork / "bad.log");
  EXPECT_NE(out.find("sweep.toml:5:1: sweep.params.\"model.layer.5.out\": index 5 is past the end of "
                     "'model.layer'"),
            std::string::npos)
      << out;
  EXPECT_FALSE(fs::exists(kWork / "runs"));
  // A key the optimizer plugin does not declare is caught before anything runs.
  std::ofstream(kWork / "sweep.toml") << "[sweep]\nbase = \"base.toml\"\n[sweep.params]\n"
                                         "\"optimizer.lrr\" = [1e-3]\n";
  EXPECT_EQ(run(plinth_args({"sweep", "sweep.toml"}), kWork / "bad2.log"), 2);
  EXPECT_NE(read(kWork / "bad2.log")
                .find("sweep.toml:4:1: sweep.params.\"optimizer.lrr\": the base pipeline with this key does "
                      "not validate: optimizer.lrr: unknown key (did you mean 'lr'?)"),
            std::string::npos)
      << read(kWork / "bad2.log");
  EXPECT_FALSE(fs::exists(kWork / "runs"));
}

}  // namespace
