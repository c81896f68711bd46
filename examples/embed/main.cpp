// main.cpp — an application that trains a pipeline through libplinth's
// public C++ API (the MNIST example by default), printing its own progress
// from the step and evaluation callbacks and stopping itself at a time
// budget. Not here: what `plinth train` adds (resume, progress bar, reports).
// Usage: plinth-embed [PIPELINE] [--steps N] [--seconds S] [--out-dir DIR]
#include <chrono>
#include <cstdio>
#include <string>

#include <plinth/pipeline.hpp>
#include <plinth/train.hpp>

int main(int argc, char** argv) {
  std::string file = "examples/mnist/pipeline.toml", out_dir;
  long long steps = 0;
  double seconds = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--steps" && has_value)
      steps = std::stoll(argv[++i]);
    else if (a == "--seconds" && has_value)
      seconds = std::stod(argv[++i]);
    else if (a == "--out-dir" && has_value)
      out_dir = argv[++i];
    else
      file = a;
  }
  auto fail = [](const plinth::Status& s) {
    std::fprintf(stderr, "plinth-embed: %s\n", s.message().c_str());
    return s.exit_code();
  };

  auto pipeline = plinth::Pipeline::load(file);  // errors name file:line:col
  if (!pipeline) return fail(pipeline.status());
  if (steps > 0) pipeline->set_max_steps(steps);
  if (!out_dir.empty()) pipeline->set_out_dir(out_dir);
  auto registry = plinth::open_registry(*pipeline);  // the installed plugins plus any the pipeline names
  if (!registry) return fail(registry.status());

  plinth::TrainOptions options;
  options.on_step = [](const plinth::StepInfo& s) {
    std::printf("step %lld/%lld  loss %.4f  lr %.2e  %.1f s\n", static_cast<long long>(s.step),
                static_cast<long long>(s.total_steps), s.loss, s.lr, s.seconds);
  };
  options.on_eval = [](const plinth::EvalInfo& e) {
    std::printf("eval at step %lld  loss %.4f  accuracy %.2f%%\n", static_cast<long long>(e.step), e.loss,
                e.accuracy * 100);
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  options.stop_requested = [&] { return seconds > 0 && std::chrono::steady_clock::now() > deadline; };

  auto trainer = plinth::Trainer::prepare(std::move(*pipeline), *registry, std::move(options));
  if (!trainer) return fail(trainer.status());
  auto result = trainer->train();
  if (!result) return fail(result.status());
  std::printf("trained %lld steps in %.2f s; run folder %s\n", static_cast<long long>(result->steps),
              result->seconds, result->run_dir.c_str());
  return 0;
}
