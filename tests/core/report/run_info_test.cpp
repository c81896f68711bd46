// Tests report/run_info.cpp on hand-written run folders: metrics.jsonl read
// into series, the status of finished / interrupted / failed / running runs,
// the best metric, and the CSV export (columns, empty cells, quoting).
#include "report/run_info.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "report/html_report.hpp"
#include "run/run_lock.hpp"

namespace plinth::report {
namespace {

namespace fs = std::filesystem;

struct TempRun {
  fs::path dir;
  explicit TempRun(const std::string& name) {
    dir = fs::temp_directory_path() / ("plinth-runinfo-" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempRun() { fs::remove_all(dir.parent_path()); }
  void put(const std::string& f, const std::string& text) const { std::ofstream(dir / f) << text; }
};

const char* kMetrics =
    R"({"step":1,"epoch":0,"time_s":0.5,"loss":2.0,"lr":0.001,"samples_per_s":100,"data_wait_s":0.1,"forward_backward_s":0.2,"optimizer_s":0.05,"communication_s":0,"checkpoint_s":0,"evaluation_s":0}
{"step":2,"epoch":0,"time_s":1.0,"loss":1.5,"lr":0.002,"samples_per_s":110,"grad_norm":null}
{"step":2,"epoch":0,"time_s":1.2,"eval_loss":1.4,"eval_accuracy":0.6,"target_reached":true}
{"step":3,"epoch":1,"time_s":1.5,"loss":1.0,"lr":0.003,"samples_per_s":120,"note":"a, \"b\""}
)";

TEST(run_info, reads_series_status_and_best_metric) {
  TempRun r("a");
  r.put("metrics.jsonl", kMetrics);
  r.put("summary.json", R"({"name":"a","steps":3,"train_seconds":1.6,"interrupted":false,"status":"ok",
    "time_breakdown_s":{"data_wait":0.3,"forward_backward":0.6,"optimizer":0.1,"communication":0,
    "checkpoint":0.05,"evaluation":0.2,"other":0.35},"target":{"metric":"eval.accuracy","value":0.5},
    "time_to_target_s":1.3,"energy":{"measured":false,"why":"CPU (RAPL): no /sys/class/powercap"}})");
  auto info = load_run(r.dir);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->name, "a");
  EXPECT_EQ(info->status, "finished");
  EXPECT_EQ(info->steps, 3);
  ASSERT_EQ(info->train["loss"].value.size(), 3u);
  EXPECT_EQ(info->train["loss"].step, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(info->train["loss"].time, (std::vector<double>{0.5, 1.0, 1.5}));
  EXPECT_TRUE(std::isnan(info->train["grad_norm"].value[0]));  // null
  EXPECT_EQ(info->eval["eval_accuracy"].value, std::vector<double>{0.6});
  EXPECT_EQ(info->best_name, "eval.accuracy");
  EXPECT_DOUBLE_EQ(*info->best_value, 0.6);
  ASSERT_TRUE(info->time_to_target);
  EXPECT_DOUBLE_EQ(*info->time_to_target, 1.3);
  ASSERT_EQ(info->breakdown.size(), 7u);
  EXPECT_EQ(info->breakdown[3].first, "communication");
  EXPECT_DOUBLE_EQ(info->breakdown[1].second, 0.6);
  EXPECT_FALSE(info->energy_j);
  EXPECT_EQ(info->energy_note, "CPU (RAPL): no /sys/class/powercap");

  const std::string html = render_html({*info});
  EXPECT_NE(html.find("not measured"), std::string::npos);
  EXPECT_NE(html.find("CPU (RAPL): no /sys/class/powercap"), std::string::npos);
  EXPECT_EQ(html.find("http"), html.find("http://www.w3.org/2000/svg"));  // no other link: nothing fetched
}

TEST(run_info, status_of_interrupted_failed_and_running_runs) {
  TempRun r("b");
  r.put("metrics.jsonl", kMetrics);
  r.put("summary.json", R"({"status":"ok","interrupted":true})");
  EXPECT_EQ(load_run(r.dir)->status, "interrupted");
  r.put("summary.json", R"({"status":"non-finite gradients at step 3","interrupted":false})");
  auto failed = load_run(r.dir);
  EXPECT_EQ(failed->status, "failed");
  EXPECT_EQ(failed->detail, "non-finite gradients at step 3");
  fs::remove(r.dir / "summary.json");
  EXPECT_EQ(load_run(r.dir)->status, "failed");  // ended without a summary
  {
    auto lock = run::RunLock::take(r.dir);
    ASSERT_TRUE(lock.ok()) << lock.status().message();
    // flock locks belong to the open file: a second open in this process does not share it.
    EXPECT_EQ(load_run(r.dir)->status, "running");
  }
  EXPECT_EQ(load_run(r.dir)->status, "failed");
  // Without a summary, the breakdown comes from the last step line that has one.
  auto running = load_run(r.dir);
  EXPECT_TRUE(running->breakdown.empty() || running->breakdown[0].first == "data_wait");
}

TEST(run_info, not_a_run_folder_is_bad_input) {
  auto r = load_run("/nonexistent/run");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().exit_code(), 2);
  TempRun empty("c");
  auto e = load_run(empty.dir);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("no metrics.jsonl"), std::string::npos);
}

TEST(run_info, csv_has_every_key_as_a_column) {
  TempRun r("d");
  r.put("metrics.jsonl", kMetrics);
  auto csv = metrics_csv(r.dir / "metrics.jsonl");
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  std::istringstream in(*csv);
  std::string header, l1, l2, l3, l4;
  std::getline(in, header), std::getline(in, l1), std::getline(in, l2), std::getline(in, l3),
      std::getline(in, l4);
  EXPECT_EQ(
      header,
      "step,epoch,time_s,loss,lr,samples_per_s,data_wait_s,forward_backward_s,optimizer_s,communication_s,"
      "checkpoint_s,evaluation_s,grad_norm,eval_loss,eval_accuracy,target_reached,note\r");
  EXPECT_EQ(l2, "2,0,1.0,1.5,0.002,110,,,,,,,,,,,\r");  // grad_norm null: empty
  EXPECT_EQ(l3, "2,0,1.2,,,,,,,,,,,1.4,0.6,true,\r");
  EXPECT_EQ(l4, "3,1,1.5,1.0,0.003,120,,,,,,,,,,,\"a, \"\"b\"\"\"\r");
}

}  // namespace
}  // namespace plinth::report
