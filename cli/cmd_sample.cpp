// cmd_sample.cpp — `plinth sample runs/<name>`: generate text from a trained
// language model, printing it as it is drawn.
// Not here: the generation itself (plinth/sample.hpp).
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "plinth/sample.hpp"

namespace plinth::cli {

void add_sample_commands(CLI::App& app, Context& ctx) {
  struct Args {
    std::string run;
    SampleOptions o;
    std::string checkpoint;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("sample", "Generate text from a trained run (a model over token sequences)");
  cmd->add_option("run", args->run, "The run folder, e.g. runs/char-gpt")->required();
  cmd->add_option("--prompt", args->o.prompt, "Text to continue (encoded with the run's vocabulary)");
  cmd->add_option("--tokens", args->o.tokens, "Tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", args->o.temperature, "Divide the logits by this; 0 picks the most likely")
      ->capture_default_str();
  cmd->add_option("--top-k", args->o.top_k, "Draw from the k most likely tokens (0: all)")
      ->capture_default_str();
  cmd->add_option("--seed", args->o.seed, "Seed of the draws")->capture_default_str();
  cmd->add_option("--checkpoint", args->checkpoint,
                  "A checkpoints/step-N folder (default: the final weights, else the newest checkpoint)");
  cmd->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      int code = kExitOk;
      auto registry = ctx.open_registry(&code);
      if (!registry) return code;
      args->o.checkpoint = args->checkpoint;
      std::fputs(args->o.prompt.c_str(), stdout);
      auto text = sample(args->run, registry, args->o, [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
      });
      if (!text) {
        std::fputc('\n', stdout);
        std::fprintf(stderr, "plinth: error: %s\n", text.status().message().c_str());
        return text.status().exit_code();
      }
      std::fputc('\n', stdout);
      return kExitOk;
    };
  });
}

}  // namespace plinth::cli
