// cmd_train.cpp — placeholder for the train / validate / resolve command
// group; it adds no commands yet. Replaced by the trainer's command file.
#include "commands.hpp"

namespace plinth::cli {

void add_train_commands(CLI::App& /*app*/, Context& /*ctx*/) {}

}  // namespace plinth::cli
