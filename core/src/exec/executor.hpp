// executor.hpp — where ops run: the backend, and for an op it lacks the
// optional CPU fallback (exec/fallback.hpp). Compiled programs, the trainer's
// whole-gradient ops and the optimizer plugin's ops all dispatch through one
// Executor, so "backend or fallback" is decided in one place.
// Not here: what to launch (exec/program.hpp) or how staging works (fallback.cpp).
#pragma once

#include <memory>
#include <string>

#include "exec/backend.hpp"
#include "exec/fallback.hpp"
#include "plinth/optimizer.h"

namespace plinth::exec {

class Executor {
 public:
  // `fallback` null: an op the backend lacks is an error.
  explicit Executor(std::shared_ptr<Backend> backend, std::shared_ptr<Fallback> fallback = nullptr)
      : backend_(std::move(backend)), fallback_(std::move(fallback)) {}

  Backend& backend() const { return *backend_; }
  Fallback* fallback() const { return fallback_.get(); }

  // The backend runs `op`, or the fallback can.
  bool can_run(const plinth_op& op) const {
    return backend_->supports(op) || (fallback_ && fallback_->can_run(op));
  }
  // Decided once, when a program is compiled: false when the backend runs
  // `op`, true when it falls back (logged once per op kind), errc::unsupported
  // naming the op and `where` ("layer 'fc1'") when neither can run it.
  Result<bool> plan(const plinth_op& op, const std::string& where);
  // An op planned to fall back (plan() returned true).
  Status run_fallback(const plinth_op& op, const std::string& where) { return fallback_->run(op, where); }

  // Run one op now, on the backend when it supports it, else on the
  // fallback (logged once per op kind). `what` names it in messages.
  Status launch(const plinth_op& op, const char* what);
  // The same with the C ABI's status, for plugins: a fallback failure's
  // message is left for plugin_status() to read back.
  plinth_status launch_abi(const plinth_op& op, const char* what);

  // The host op table an optimizer plugin's step() launches through.
  plinth_optim_ops optimizer_ops();

 private:
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<Fallback> fallback_;
};

}  // namespace plinth::exec
