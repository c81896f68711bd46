// Runs the built `plinth` end to end on a tiny pipeline (report_pipeline.toml):
// two runs (one with a fake powercap tree, one without any), then `plinth
// report`, `runs`, `export`, energy and time carried across --resume, the
// generated man page and bash completion, and the report rendered by headless
// Chromium (skipped when chromium is not installed) with a screenshot kept in
// <build>/tests/artifacts/.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

CliRun sh(const std::string& cmd) {
  CliRun r;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int st = pclose(f);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// One folder per test process: ctest runs each test in its own process, in parallel.
const fs::path kWork = fs::path(PLINTH_BINARY_DIR) / "tests" / ("report-work-" + std::to_string(::getpid()));
const std::string kManifests = std::string(PLINTH_BINARY_DIR) + "/share/plinth/plugins.d";

// plinth with only the build's plugins, run in `cwd` (default: kWork); `env`
// goes first (VAR=value ...).
CliRun plinth(const std::string& args, const std::string& env = "", const fs::path& cwd = kWork) {
  return sh("cd '" + cwd.string() +
            "' && env -u PLINTH_PLUGIN_PATH -u PLINTH_LOG_LEVEL -u PLINTH_POWERCAP_ROOT " + env + " '" +
            PLINTH_CLI + "' --no-system-plugins --no-install-plugins --plugin-path '" + kManifests + "' " +
            args);
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read(p), nullptr, false); }
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class report_cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove_all(kWork);
    fs::create_directories(kWork / "powercap" / "intel-rapl:0");
    std::ofstream(kWork / "powercap" / "intel-rapl:0" / "name") << "package-0\n";
    std::ofstream(kWork / "powercap" / "intel-rapl:0" / "energy_uj") << "1000\n";
    std::ofstream(kWork / "powercap" / "intel-rapl:0" / "max_energy_range_uj") << "262143328850\n";
    const std::string pipeline = std::string(PLINTH_SOURCE_DIR) + "/tests/cli/report_pipeline.toml";
    // Run 1 measures the fake counter; run 2 has no powercap at all.
    trained_[0] = plinth("train --no-progress '" + pipeline + "'",
                         "PLINTH_POWERCAP_ROOT=" + (kWork / "powercap").string());
    trained_[1] =
        plinth("train --no-progress '" + pipeline + "'", "PLINTH_POWERCAP_ROOT=/nonexistent/powercap");
  }
  static void TearDownTestSuite() { fs::remove_all(kWork); }
  static inline CliRun trained_[2];
  const fs::path run1 = kWork / "runs" / "report-test", run2 = kWork / "runs" / "report-test-2";
};

TEST_F(report_cli, runs_record_time_breakdown_and_energy) {
  ASSERT_EQ(trained_[0].rc, 0) << trained_[0].out;
  ASSERT_EQ(trained_[1].rc, 0) << trained_[1].out;
  const auto s1 = read_json(run1 / "summary.json"), s2 = read_json(run2 / "summary.json");
  ASSERT_TRUE(s1.is_object() && s2.is_object());
  const auto& tb = s1["time_breakdown_s"];
  double sum = 0;
  for (const char* k :
       {"data_wait", "forward_backward", "optimizer", "communication", "checkpoint", "evaluation", "other"}) {
    ASSERT_TRUE(tb.contains(k) && tb[k].is_number()) << k << " " << tb.dump();
    sum += tb[k].get<double>();
  }
  EXPECT_EQ(tb["communication"], 0.0);
  EXPECT_GT(tb["forward_backward"].get<double>(), 0.0);
  EXPECT_NEAR(sum, s1["train_seconds"].get<double>(), 0.05 * s1["train_seconds"].get<double>() + 1e-3);
  // The fake counter does not move: measured, 0 J.
  EXPECT_EQ(s1["energy"]["measured"], true) << s1["energy"].dump();
  EXPECT_EQ(s1["energy"]["joules"], 0.0);
  EXPECT_EQ(s1["energy"]["sources"], "rapl (package-0)");
  EXPECT_EQ(s2["energy"]["measured"], false);
  EXPECT_EQ(s2["energy"]["why"], "CPU (RAPL): no /nonexistent/powercap");
  EXPECT_TRUE(has(trained_[1].out, "energy: not measured (CPU (RAPL): no /nonexistent/powercap)"))
      << trained_[1].out;
  // Step lines carry the running breakdown, lr, grad_norm and throughput.
  std::istringstream lines(read(run1 / "metrics.jsonl"));
  std::string line;
  int steps = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    if (!j.contains("loss")) continue;
    ++steps;
    for (const char* k : {"lr", "grad_norm", "samples_per_s", "data_wait_s", "forward_backward_s",
                          "optimizer_s", "communication_s", "checkpoint_s", "evaluation_s", "energy_j"})
      EXPECT_TRUE(j.contains(k)) << k << " in " << line;
  }
  EXPECT_GE(steps, 10);
}

TEST_F(report_cli, energy_and_time_carry_across_resume) {
  ASSERT_EQ(trained_[0].rc, 0) << trained_[0].out;
  // A copy of run 1 whose last checkpoint says 123.5 J were used before it.
  // Resumed from another folder with the same out_dir ("runs"), since the
  // resolved pipeline must match the checkpoint's.
  const fs::path cwd = kWork / "resume", copy = cwd / "runs" / "report-test";
  fs::remove_all(cwd);
  fs::create_directories(copy.parent_path());
  fs::copy(run1, copy, fs::copy_options::recursive);
  // Every checkpoint says so (resume takes the newest good one).
  std::vector<std::pair<fs::path, nlohmann::json>> states;
  double before_fb = 0;
  for (const auto& e : fs::directory_iterator(copy / "checkpoints")) {
    if (e.path().filename().string().rfind("step-", 0) != 0) continue;
    auto state = read_json(e.path() / "state.json");
    state["energy_j"] = 123.5;
    before_fb = std::max(before_fb, state["time_breakdown_s"]["forward_backward"].get<double>());
    std::ofstream(e.path() / "state.json") << state.dump(2);
    states.emplace_back(e.path() / "state.json", state);
  }
  ASSERT_FALSE(states.empty());
  const std::string pipeline = std::string(PLINTH_SOURCE_DIR) + "/tests/cli/report_pipeline.toml";
  CliRun r = plinth("train --no-progress --resume '" + pipeline + "'",
                    "PLINTH_POWERCAP_ROOT=" + (kWork / "powercap").string(), cwd);
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto s = read_json(copy / "summary.json");
  EXPECT_EQ(s["energy"]["measured"], true) << s.dump();
  EXPECT_DOUBLE_EQ(s["energy"]["joules"].get<double>(), 123.5);
  EXPECT_GE(s["time_breakdown_s"]["forward_backward"].get<double>(), before_fb);

  // The same resume where this process cannot measure: the whole run is not measured.
  for (const auto& [f, state] : states) std::ofstream(f) << state.dump(2);
  r = plinth("train --no-progress --resume '" + pipeline + "'", "PLINTH_POWERCAP_ROOT=/nonexistent/powercap",
             cwd);
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto s2 = read_json(copy / "summary.json");
  EXPECT_EQ(s2["energy"]["measured"], false);
  EXPECT_TRUE(has(s2["energy"]["why"].get<std::string>(), "no /nonexistent/powercap")) << s2.dump();
}

TEST_F(report_cli, report_runs_and_export) {
  ASSERT_EQ(trained_[0].rc, 0) << trained_[0].out;
  CliRun r = plinth("report runs/report-test runs/report-test-2 -o report.html --title 'Two <runs>'");
  ASSERT_EQ(r.rc, 0) << r.out;
  const std::string html = read(kWork / "report.html");
  for (const char* part : {"<!DOCTYPE html>", "Two &lt;runs&gt;", "Loss vs step", "Loss vs training time",
                           "Evaluation accuracy vs step", "Learning rate vs step", "Gradient norm vs step",
                           "Throughput (samples/s) vs step", "Where the training time went", "not measured",
                           "CPU (RAPL): no /nonexistent/powercap", "rapl (package-0)", "[optimizer]",
                           "plinth-backend-cpu", "report-test-2 train"})
    EXPECT_TRUE(has(html, part)) << part;
  EXPECT_FALSE(has(html, "<script")) << "the report must not need scripts";
  EXPECT_FALSE(has(html, "src=")) << "the report must not load anything";

  CliRun runs = plinth("runs runs");
  ASSERT_EQ(runs.rc, 0) << runs.out;
  EXPECT_TRUE(std::regex_search(runs.out, std::regex("report-test +finished +120 .*eval.accuracy")))
      << runs.out;
  EXPECT_TRUE(has(runs.out, "report-test-2")) << runs.out;
  EXPECT_FALSE(has(runs.out, "\033[")) << "no colour when not on a terminal";
  // On a terminal (script(1) gives it one): coloured, unless NO_COLOR is set.
  if (sh("command -v script").rc == 0) {
    const std::string cmd = "script -qec \"'" + std::string(PLINTH_CLI) + "' runs runs\" /dev/null";
    CliRun tty = sh("cd '" + kWork.string() + "' && env -u NO_COLOR " + cmd);
    EXPECT_TRUE(has(tty.out, "\033[32mfinished")) << tty.out;
    CliRun no_colour = sh("cd '" + kWork.string() + "' && NO_COLOR=1 " + cmd);
    EXPECT_TRUE(has(no_colour.out, "finished")) << no_colour.out;
    EXPECT_FALSE(has(no_colour.out, "\033[")) << no_colour.out;
  }

  CliRun exp = plinth("export runs/report-test --csv");
  ASSERT_EQ(exp.rc, 0) << exp.out;
  const std::string csv = read(run1 / "metrics.csv");
  EXPECT_EQ(csv.rfind("step,epoch,time_s,loss,lr,", 0), 0u) << csv.substr(0, 200);
  EXPECT_TRUE(has(csv, "eval_accuracy"));

  EXPECT_EQ(plinth("report /nonexistent/run").rc, 2);
  EXPECT_EQ(plinth("export /nonexistent/run").rc, 2);
  EXPECT_EQ(plinth("runs /nonexistent").rc, 2);
  EXPECT_EQ(plinth("report").rc, 2);
}

TEST(report_cli_help, man_page_and_completion_come_from_the_cli) {
  const fs::path man = fs::path(PLINTH_BINARY_DIR) / "share/man/man1/plinth.1";
  const std::string page = read(man);
  ASSERT_FALSE(page.empty()) << man;
  EXPECT_TRUE(has(page, ".TH PLINTH 1"));
  for (const char* cmd : {"train", "plugins inspect", "report", "runs", "export"})
    EXPECT_TRUE(has(page, "\\fB" + std::string(cmd) + "\\fR")) << cmd;
  EXPECT_TRUE(has(page, "\\fB\\-\\-no\\-progress\\fR"));
  EXPECT_TRUE(has(page, ".B 130"));
  // groff finds nothing to warn about.
  CliRun g = sh("command -v groff >/dev/null || exit 77; groff -man -ww -z '" + man.string() + "'");
  if (g.rc != 77) {
    EXPECT_TRUE(g.rc == 0 && g.out.empty()) << g.out;
  }
  // The page printed now is the page the build made.
  CliRun now = sh("PLINTH_MAN_DATE=$(sed -n 's/^.TH PLINTH 1 \"\\([^\"]*\\)\".*/\\1/p' '" + man.string() +
                  "') '" + PLINTH_CLI + "' --help-man");
  EXPECT_EQ(now.out, page);

  const std::string comp =
      (fs::path(PLINTH_BINARY_DIR) / "share/bash-completion/completions/plinth").string();
  auto complete = [&](const std::string& words) {
    return sh("bash -c 'source \"" + comp + "\"; COMP_WORDS=(" + words +
              "); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _plinth; echo \"${COMPREPLY[*]}\"'");
  };
  EXPECT_EQ(complete("plinth re").out, "resolve report retrain\n");
  EXPECT_EQ(complete("plinth plugins \"\"").out, "list inspect doctor\n");
  EXPECT_EQ(complete("plinth --log-level warn plugins i").out, "inspect\n");
  EXPECT_EQ(complete("plinth --log-level \"\"").out, "trace debug info warn error off\n");
  EXPECT_TRUE(has(complete("plinth train --").out, "--resume")) << complete("plinth train --").out;
}

// Chromium draws the report: every chart's paths have points, and a screenshot is kept.
TEST_F(report_cli, chromium_renders_the_charts) {
  ASSERT_EQ(trained_[0].rc, 0) << trained_[0].out;
  if (sh("command -v chromium").rc != 0)
    GTEST_SKIP() << "chromium is not installed (apt-get install chromium); the report was not rendered";
  ASSERT_EQ(plinth("report runs/report-test runs/report-test-2 -o chromium.html").rc, 0);
  const fs::path artifacts = fs::path(PLINTH_BINARY_DIR) / "tests" / "artifacts";
  fs::create_directories(artifacts);
  fs::copy_file(kWork / "chromium.html", artifacts / "report.html", fs::copy_options::overwrite_existing);
  const std::string url = "file://" + (kWork / "chromium.html").string();
  const std::string flags =
      "--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars "
      "--user-data-dir='" +
      (kWork / "chromium-profile").string() + "'";
  CliRun dom = sh("timeout 120 chromium " + flags + " --dump-dom '" + url + "' 2>/dev/null");
  ASSERT_EQ(dom.rc, 0) << dom.out.substr(0, 2000);
  // The DOM Chromium built: <svg> elements, each series a <path> with points.
  static const std::regex svg_re("<svg[^>]*class=\"chart\"");
  const auto n_svg = std::distance(std::sregex_iterator(dom.out.begin(), dom.out.end(), svg_re), {});
  EXPECT_GE(n_svg, 11)
      << "line charts (loss, accuracy, lr, grad norm, throughput, energy; each by step and time) + bars";
  static const std::regex path_re("<path class=\"series\" data-name=\"([^\"]*)\" d=\"([^\"]*)\"");
  int paths = 0, with_points = 0;
  for (auto it = std::sregex_iterator(dom.out.begin(), dom.out.end(), path_re); it != std::sregex_iterator();
       ++it) {
    ++paths;
    const std::string d = (*it)[2];
    const auto points = std::count(d.begin(), d.end(), 'M') + std::count(d.begin(), d.end(), 'L');
    with_points += points >= 2;
  }
  EXPECT_GE(paths, 20);
  EXPECT_EQ(with_points, paths) << "every series is drawn with at least two points";
  static const std::regex seg_re("<rect class=\"segment\"");
  EXPECT_GE(std::distance(std::sregex_iterator(dom.out.begin(), dom.out.end(), seg_re), {}), 6);

  const fs::path png = artifacts / "report.png";
  fs::remove(png);
  CliRun shot = sh("timeout 120 chromium " + flags + " --window-size=1400,5000 --screenshot='" +
                   png.string() + "' '" + url + "' 2>/dev/null");
  ASSERT_EQ(shot.rc, 0) << shot.out;
  ASSERT_TRUE(fs::exists(png));
  EXPECT_GT(fs::file_size(png), 20000u) << "a blank page would compress to almost nothing";
  std::printf("screenshot: %s\n", png.c_str());
}

}  // namespace
