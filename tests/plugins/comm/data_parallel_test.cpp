// data_parallel_test.cpp — `mpirun -np 2 plinth train` against one process:
// two ranks of per-rank batch B reach the same weights as one process of
// batch 2B (SGD, AdamW with accumulation, a short last batch), the sharded
// evaluation matches, a run resumes from a 2-rank checkpoint on 1 or 2
// ranks, and batch-norm running statistics are averaged over ranks. Weights are compared tensor by tensor in
// double; a 1-process run of batch B is the control that shows the comparison can fail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "train/safetensors.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kWork = fs::path(PLINTH_BINARY_DIR) / "tests" / "data_parallel";
const std::string kRunMpi = std::string(PLINTH_SOURCE_DIR) + "/tests/plugins/comm/run_mpi.sh";

// A pipeline over the MNIST sample (8,000 / 2,000 digits).
std::string pipeline(const std::string& name, int batch, const std::string& extra) {
  const std::string data = std::string(PLINTH_SOURCE_DIR) + "/examples/mnist/data/";
  return "[run]\nname = \"" + name + "\"\nseed = 5\nout_dir = \"" + (kWork / "runs").string() +
         "\"\n[backend]\nname = \"cpu\"\nthreads = 1\n"
         "[data.train]\nsource = \"idx\"\nimages = \"" +
         data + "train-images-idx3-ubyte.gz\"\nlabels = \"" + data +
         "train-labels-idx1-ubyte.gz\"\n"
         "[[model.layer]]\ntype = \"flatten\"\n[[model.layer]]\ntype = \"linear\"\nout = 48\n"
         "[[model.layer]]\ntype = \"relu\"\n[[model.layer]]\ntype = \"linear\"\nout = 10\n"
         "[loss]\ntype = \"cross_entropy\"\n[distributed]\ntimeout = 60\n[train]\nbatch_size = " +
         std::to_string(batch) + "\nlog_every = 5\n" + extra;
}

int run(int ranks, const std::string& name, const std::string& text, const std::string& flags = "") {
  fs::create_directories(kWork);
  const fs::path file = kWork / (name + ".toml");
  std::ofstream(file) << text;
  std::string cmd = ranks > 1 ? "bash " + kRunMpi + " " + std::to_string(ranks) + " " : std::string();
  cmd += std::string(PLINTH_CLI) + " train " + flags + " " + file.string() + " > " +
         (kWork / (name + ".out")).string() + " 2>&1";
  return std::system(cmd.c_str());
}

std::vector<plinth::NamedTensor> weights(const std::string& name) {
  auto w = plinth::read_safetensors(kWork / "runs" / name / "model.safetensors");
  EXPECT_TRUE(w.ok()) << w.status().message();
  return w.ok() ? *w : std::vector<plinth::NamedTensor>{};
}

// Largest |a - b| over every weight, and the largest |a|.
std::pair<double, double> max_diff(const std::string& a, const std::string& b) {
  auto wa = weights(a), wb = weights(b);
  EXPECT_EQ(wa.size(), wb.size());
  double diff = 0, mag = 0;
  for (size_t t = 0; t < std::min(wa.size(), wb.size()); ++t) {
    EXPECT_EQ(wa[t].name, wb[t].name);
    EXPECT_EQ(wa[t].data.size(), wb[t].data.size());
    const auto* x = reinterpret_cast<const float*>(wa[t].data.data());
    const auto* y = reinterpret_cast<const float*>(wb[t].data.data());
    for (size_t i = 0; i < std::min(wa[t].data.size(), wb[t].data.size()) / 4; ++i) {
      diff = std::max(diff, std::abs(static_cast<double>(x[i]) - y[i]));
      mag = std::max(mag, std::abs(static_cast<double>(x[i])));
    }
  }
  return {diff, mag};
}

nlohmann::json summary(const std::string& name) {
  std::ifstream in(kWork / "runs" / name / "summary.json");
  return nlohmann::json::parse(in, nullptr, false);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class data_parallel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun not found";
    if (!fs::exists(fs::path(PLINTH_SOURCE_DIR) / "examples/mnist/data/train-images-idx3-ubyte.gz"))
      GTEST_SKIP() << "no MNIST sample: run examples/mnist/prepare_data.sh";
  }
};

// fp32 sums in another order: the difference stays at rounding level.
constexpr double kTol = 2e-5;
// A PowerSGD resume: the residuals' mean differs from the per-rank residuals
// by rounding, amplified a little by the Gram-Schmidt of the following steps.
constexpr double kPsgdTol = 1e-5;

TEST_F(data_parallel, two_ranks_of_64_match_one_process_of_128_with_sgd) {
  fs::remove_all(kWork / "runs");
  const std::string opt = "max_steps = 30\n[optimizer]\nname = \"sgd\"\nlr = 0.1\nmomentum = 0.9\n";
  ASSERT_EQ(run(1, "sgd1", pipeline("sgd1", 128, opt)), 0) << slurp(kWork / "sgd1.out");
  ASSERT_EQ(run(2, "sgd2", pipeline("sgd2", 64, opt)), 0) << slurp(kWork / "sgd2.out");
  ASSERT_EQ(run(1, "sgd_half", pipeline("sgd_half", 64, opt)), 0);
  auto [d, mag] = max_diff("sgd1", "sgd2");
  EXPECT_LT(d, kTol * std::max(1.0, mag)) << "largest weight " << mag;
  // The control: one process of batch 64 trains on other samples.
  auto [dc, magc] = max_diff("sgd1", "sgd_half");
  EXPECT_GT(dc, 1e-3) << "the control should differ";
  // Only rank 0 wrote: one metrics line per log step, the averaged loss.
  const std::string m1 = slurp(kWork / "runs/sgd1/metrics.jsonl"),
                    m2 = slurp(kWork / "runs/sgd2/metrics.jsonl");
  EXPECT_EQ(std::count(m2.begin(), m2.end(), '\n'), std::count(m1.begin(), m1.end(), '\n'));
  auto last = [](const std::string& m) {
    auto l = m.substr(m.rfind('\n', m.size() - 2) + 1);
    return nlohmann::json::parse(l);
  };
  EXPECT_NEAR(last(m1)["loss"].get<double>(), last(m2)["loss"].get<double>(), 1e-5);
  EXPECT_EQ(last(m2)["world_size"], 2);
  EXPECT_GT(last(m2)["allreduce_bytes_per_step"].get<double>(), 4 * 48 * 784);
}

TEST_F(data_parallel, adamw_with_accumulation_and_a_short_last_batch_matches) {
  // 2 ranks x 32 rows x 2 micro-batches = 1 process x 128 rows. One epoch of
  // the 8,000 samples ends with a batch of 64 rows (16 per rank and
  // micro-batch), evaluated on the 2,000 eval samples (a short last batch too).
  const std::string data = std::string(PLINTH_SOURCE_DIR) + "/examples/mnist/data/";
  const std::string eval = "[data.eval]\nsource = \"idx\"\nimages = \"" + data +
                           "t10k-images-idx3-ubyte.gz\"\nlabels = \"" + data +
                           "t10k-labels-idx1-ubyte.gz\"\n";
  const std::string opt = "epochs = 1\n[optimizer]\nname = \"adamw\"\nlr = 2e-3\n" + eval;
  ASSERT_EQ(run(1, "adam1", pipeline("adam1", 128, opt)), 0) << slurp(kWork / "adam1.out");
  ASSERT_EQ(run(2, "adam2", pipeline("adam2", 32, "grad_accum = 2\n" + opt)), 0)
      << slurp(kWork / "adam2.out");
  auto [d, mag] = max_diff("adam1", "adam2");
  // Adam divides by sqrt(v): rounding differences grow a little more.
  EXPECT_LT(d, 1e-4 * std::max(1.0, mag)) << "largest weight " << mag;
  auto s1 = summary("adam1"), s2 = summary("adam2");
  EXPECT_EQ(s1["steps"], s2["steps"]);
  EXPECT_NEAR(s1["eval_accuracy"].get<double>(), s2["eval_accuracy"].get<double>(), 1.5e-3);
  EXPECT_NEAR(s1["eval_loss"].get<double>(), s2["eval_loss"].get<double>(), 1e-4);
  EXPECT_GT(s2["eval_accuracy"].get<double>(), 0.8);
}

TEST_F(data_parallel, resumes_a_two_rank_checkpoint_on_two_or_one_ranks) {
  const std::string opt =
      "max_steps = 20\n[optimizer]\nname = \"sgd\"\nlr = 0.05\n[checkpoint]\nevery_steps = 10\nkeep_last = "
      "5\n";
  const std::string text = pipeline("res", 64, opt);  // one pipeline: a resume must match it
  const fs::path dir = kWork / "runs/res", full = kWork / "runs/res-full";
  fs::remove_all(dir);
  fs::remove_all(full);
  ASSERT_EQ(run(2, "res", text), 0) << slurp(kWork / "res.out");
  fs::copy(dir, full, fs::copy_options::recursive);
  // The run as if it had stopped after step 10.
  auto stop_at_10 = [&] {
    fs::remove_all(dir);
    fs::copy(full, dir, fs::copy_options::recursive);
    for (const auto& e : fs::directory_iterator(dir / "checkpoints"))
      if (e.path().filename().string().find("10") == std::string::npos) fs::remove_all(e.path());
    fs::remove(dir / "model.safetensors");
    fs::remove(dir / "summary.json");
  };
  stop_at_10();
  ASSERT_EQ(run(2, "res", text, "--resume"), 0) << slurp(kWork / "res.out");
  EXPECT_EQ(summary("res")["resumed_from_step"], 10);
  auto [d, mag] = max_diff("res-full", "res");
  EXPECT_EQ(d, 0.0) << "an exact resume on the same ranks";
  stop_at_10();
  ASSERT_EQ(run(1, "res", text, "--resume"), 0) << slurp(kWork / "res.out");
  EXPECT_EQ(summary("res")["resumed_from_step"], 10);
  EXPECT_EQ(summary("res")["steps"], 20);
  EXPECT_NE(slurp(kWork / "res.out").find("global batch of 64 rows (was 128)"), std::string::npos)
      << slurp(kWork / "res.out");
}

// The logged loss of `step` in a run's metrics.jsonl (NaN: no such line).
double logged_loss(const std::string& name, int64_t step) {
  std::ifstream in(kWork / "runs" / name / "metrics.jsonl");
  for (std::string l; std::getline(in, l);) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_object() && j.value("step", int64_t{-1}) == step && j.contains("loss"))
      return j["loss"].get<double>();
  }
  return NAN;
}

// PowerSGD's warm start and error feedback are checkpointed: a 2-rank run
// resumed after step 10 (compressing since step 5) ends with the weights of
// the uninterrupted run, up to the rounding of the residuals' mean (a
// checkpoint keeps the mean over ranks, which is all the next step uses).
// The control resumes from the same checkpoint with that state dropped
// (as before it was saved: Q and the residuals start afresh, warm-up again)
// and must end farther away. Logging every 4 steps leaves 2 steps of loss
// unlogged at the checkpoint: the next logged loss must be the global mean.
TEST_F(data_parallel, powersgd_resume_restores_its_state) {
  std::string text = pipeline(
      "psr", 64,
      "max_steps = 30\n[optimizer]\nname = \"sgd\"\nlr = 0.1\nmomentum = 0.9\n[checkpoint]\nevery_steps "
      "= 10\nkeep_last = 5\n");
  text.replace(text.find("log_every = 5"), 13, "log_every = 4");
  text.replace(text.find("timeout = 60"), 12,
               "timeout = 60\ncompression = \"powersgd\"\npowersgd_rank = 2\npowersgd_warmup_steps = 5");
  const fs::path dir = kWork / "runs/psr", full = kWork / "runs/psr-full";
  fs::remove_all(dir);
  fs::remove_all(full);
  ASSERT_EQ(run(2, "psr", text), 0) << slurp(kWork / "psr.out");
  fs::copy(dir, full, fs::copy_options::recursive);
  auto stop_at_10 = [&] {
    fs::remove_all(dir);
    fs::copy(full, dir, fs::copy_options::recursive);
    for (const auto& e : fs::directory_iterator(dir / "checkpoints"))
      if (e.path().filename() != "step-10") fs::remove_all(e.path());
    fs::remove(dir / "model.safetensors");
    fs::remove(dir / "summary.json");
  };
  stop_at_10();
  const auto state = nlohmann::json::parse(slurp(dir / "checkpoints/step-10/state.json"));
  ASSERT_EQ(state.value("powersgd_steps", int64_t{-1}), 10) << state.dump();
  ASSERT_EQ(run(2, "psr", text, "--resume"), 0) << slurp(kWork / "psr.out");
  EXPECT_EQ(summary("psr")["resumed_from_step"], 10);
  auto [d, mag] = max_diff("psr-full", "psr");
  const double loss_full = logged_loss("psr-full", 12), loss_res = logged_loss("psr", 12);
  EXPECT_NEAR(loss_res, loss_full, 1e-6 * loss_full) << "the loss logged at step 12";
  // The control: the same resume without PowerSGD's state.
  stop_at_10();
  auto st = nlohmann::json::parse(slurp(dir / "checkpoints/step-10/state.json"));
  st.erase("powersgd_steps");
  std::ofstream(dir / "checkpoints/step-10/state.json") << st.dump(2);
  ASSERT_EQ(run(2, "psr", text, "--resume"), 0) << slurp(kWork / "psr.out");
  EXPECT_NE(slurp(kWork / "psr.out").find("no PowerSGD state"), std::string::npos)
      << slurp(kWork / "psr.out");
  auto [dc, magc] = max_diff("psr-full", "psr");
  std::printf(
      "PowerSGD resume: largest weight difference %.3g with its state, %.3g without (largest weight %.3g)\n",
      d, dc, mag);
  EXPECT_LT(d, kPsgdTol * std::max(1.0, mag)) << "largest weight " << mag;
  EXPECT_GT(dc, 10 * kPsgdTol * std::max(1.0, mag)) << "the control should differ";
}

TEST_F(data_parallel, bf16_compression_halves_the_bytes_and_stays_close) {
  const std::string opt = "max_steps = 30\n[optimizer]\nname = \"sgd\"\nlr = 0.1\n";
  auto with = [&](const std::string& c) {
    std::string t = pipeline("c_" + c, 64, opt);
    t.replace(t.find("timeout = 60"), 12, "timeout = 60\ncompression = \"" + c + "\"");
    return t;
  };
  ASSERT_EQ(run(2, "c_none", with("none")), 0) << slurp(kWork / "c_none.out");
  ASSERT_EQ(run(2, "c_bf16", with("bf16")), 0) << slurp(kWork / "c_bf16.out");
  ASSERT_EQ(run(2, "c_fp16", with("fp16")), 0) << slurp(kWork / "c_fp16.out");
  auto last = [](const std::string& name) {
    const std::string m = slurp(kWork / "runs" / name / "metrics.jsonl");
    return nlohmann::json::parse(m.substr(m.rfind('\n', m.size() - 2) + 1));
  };
  const double full = last("c_none")["allreduce_bytes_per_step"].get<double>();
  EXPECT_EQ(last("c_bf16")["allreduce_bytes_per_step"].get<double>(), full / 2);
  EXPECT_EQ(last("c_fp16")["allreduce_bytes_per_step"].get<double>(), full / 2);
  // bf16 keeps 8 bits of mantissa: after 30 steps the weights differ, but little.
  auto [db, mb] = max_diff("c_none", "c_bf16");
  EXPECT_GT(db, 0.0);
  EXPECT_LT(db, 1e-2 * std::max(1.0, mb));
  auto [dh, mh] = max_diff("c_none", "c_fp16");
  EXPECT_GT(dh, 0.0);
  EXPECT_LT(dh, 1e-2 * std::max(1.0, mh));
}

TEST_F(data_parallel, powersgd_rank_2_sends_far_fewer_bytes_and_trains_as_well) {
  const std::string opt = "max_steps = 60\n[optimizer]\nname = \"sgd\"\nlr = 0.1\nmomentum = 0.9\n";
  auto with = [&](const std::string& name, const std::string& c) {
    std::string t = pipeline(name, 64, opt);
    t.replace(t.find("timeout = 60"), 12, "timeout = 60\n" + c);
    return t;
  };
  ASSERT_EQ(run(2, "p_none", with("p_none", "compression = \"none\"")), 0) << slurp(kWork / "p_none.out");
  ASSERT_EQ(run(2, "p_psgd",
                with("p_psgd", "compression = \"powersgd\"\npowersgd_rank = 2\npowersgd_warmup_steps = 10")),
            0)
      << slurp(kWork / "p_psgd.out");
  auto lines = [](const std::string& name) {
    std::vector<nlohmann::json> v;
    std::ifstream in(kWork / "runs" / name / "metrics.jsonl");
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) v.push_back(nlohmann::json::parse(l));
    return v;
  };
  const auto none = lines("p_none"), psgd = lines("p_psgd");
  ASSERT_GE(psgd.size(), 3u);
  ASSERT_EQ(none.size(), psgd.size());
  const double full = none.back()["allreduce_bytes_per_step"].get<double>();
  // Step 5 is in the warm-up: every gradient travels as it is.
  EXPECT_EQ(psgd.front()["step"], 5);
  EXPECT_EQ(psgd.front()["allreduce_bytes_per_step"].get<double>(), full);
  // After it: P and Q of the two weight matrices (784x48 and 48x10 at rank 2)
  // and the biases, 4 * (2 * (784 + 48) + 2 * (48 + 10) + 48 + 10) bytes.
  const double compressed = psgd.back()["allreduce_bytes_per_step"].get<double>();
  EXPECT_EQ(compressed, 4.0 * (2 * (784 + 48) + 2 * (48 + 10) + 48 + 10));
  EXPECT_LT(compressed, full / 10);
  // It trains: the loss falls, and ends close to the uncompressed run's.
  const double first = psgd.front()["loss"].get<double>(), end = psgd.back()["loss"].get<double>();
  const double ref = none.back()["loss"].get<double>();
  EXPECT_LT(end, 0.6 * first) << "loss " << first << " -> " << end;
  EXPECT_NEAR(end, ref, 0.25 * ref + 0.05) << "uncompressed run's loss " << ref;
  // The weights differ from the uncompressed run's: the compression did act.
  auto [d, mag] = max_diff("p_none", "p_psgd");
  EXPECT_GT(d, 1e-4);
}

// A tensor of a run's model.safetensors, as floats.
std::vector<float> tensor(const std::string& run, const std::string& name) {
  for (const auto& t : weights(run))
    if (t.name == name) {
      std::vector<float> v(t.data.size() / 4);
      std::memcpy(v.data(), t.data.data(), t.data.size());
      return v;
    }
  ADD_FAILURE() << run << " has no tensor " << name;
  return {};
}

// Each rank normalises with its own rows' statistics; after every step the
// running statistics are averaged over ranks. With momentum 1 on the raw
// pixels (a batchnorm right after flatten: its input does not depend on the
// weights), running_mean after a step is the mean of that step's rows, so
// 2 ranks of 64 must give what 1 process of 128 gives (the mean of the two
// halves' means), and 1 process of 64 (the control: one half) must not.
// The 2-rank run ending at all shows the ranks agreed on every parameter
// (the final checksum comparison includes the buffers).
TEST_F(data_parallel, batchnorm_running_statistics_are_averaged) {
  const std::string opt = "max_steps = 6\n[optimizer]\nname = \"sgd\"\nlr = 0.05\n";
  auto with_bn = [&](const std::string& name, int batch) {
    std::string t = pipeline(name, batch, opt);
    const std::string flatten = "[[model.layer]]\ntype = \"flatten\"\n";
    t.replace(t.find(flatten), flatten.size(),
              flatten + "[[model.layer]]\ntype = \"batchnorm\"\nname = \"bn\"\nmomentum = 1.0\n");
    return t;
  };
  ASSERT_EQ(run(1, "bn1", with_bn("bn1", 128)), 0) << slurp(kWork / "bn1.out");
  ASSERT_EQ(run(2, "bn2", with_bn("bn2", 64)), 0) << slurp(kWork / "bn2.out");
  ASSERT_EQ(run(1, "bn_half", with_bn("bn_half", 64)), 0) << slurp(kWork / "bn_half.out");
  const auto one = tensor("bn1", "bn.running_mean"), two = tensor("bn2", "bn.running_mean"),
             half = tensor("bn_half", "bn.running_mean");
  ASSERT_EQ(one.size(), 784u);
  ASSERT_EQ(two.size(), one.size());
  ASSERT_EQ(half.size(), one.size());
  double d = 0, dc = 0, mag = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    d = std::max(d, std::abs(static_cast<double>(one[i]) - two[i]));
    dc = std::max(dc, std::abs(static_cast<double>(one[i]) - half[i]));
    mag = std::max(mag, std::abs(static_cast<double>(one[i])));
  }
  EXPECT_GT(mag, 0.1);
  EXPECT_LT(d, 1e-6 * std::max(1.0, mag)) << "2 ranks' averaged running_mean vs one process";
  EXPECT_GT(dc, 1e-3) << "the control (half the rows) should differ";
  // running_var averages each rank's unbiased variance: close to, not equal
  // to, the global batch's.
  const auto v1 = tensor("bn1", "bn.running_var"), v2 = tensor("bn2", "bn.running_var");
  ASSERT_EQ(v1.size(), v2.size());
  for (size_t i = 0; i < v1.size(); ++i) ASSERT_TRUE(std::isfinite(v2[i]) && v2[i] >= 0.f) << i;
}

}  // namespace
