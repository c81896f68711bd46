// executor.cpp — the one backend-or-fallback dispatch: a program's plan at
// compile time, single ops at run time, and the optimizer's op table.
// Not here: the launch list (program.cpp) or the staging copies (fallback.cpp).
#include "exec/executor.hpp"

#include "plugin/host.hpp"

namespace plinth::exec {

Result<bool> Executor::plan(const plinth_op& op, const std::string& where) {
  if (backend_->supports(op)) return false;
  Fallback* fb = fallback_.get();
  if (!fb || !fb->can_run(op))
    return error(errc::unsupported, "backend '" + backend_->name() + "' does not support op " +
                                        op_name(op.kind) + " of " + where +
                                        (fb ? " and the CPU backend cannot run it either"
                                            : " (CPU fallback is off: [backend] allow_fallback = false)"));
  fb->note(op, where);
  return true;
}

Status Executor::launch(const plinth_op& op, const char* what) {
  if (!fallback_ || backend_->supports(op)) return plugin_status(backend_->launch_raw(op), what);
  fallback_->note(op, what);
  return fallback_->run(op, what);
}

plinth_status Executor::launch_abi(const plinth_op& op, const char* what) {
  if (!fallback_ || backend_->supports(op)) return backend_->launch_raw(op);
  fallback_->note(op, what);
  if (Status s = fallback_->run(op, what); !s.ok()) {
    set_plugin_error(s.message());  // read back by plugin_status() when the plugin fails
    return to_abi(s.code());
  }
  return PLINTH_OK;
}

namespace {

int32_t optim_supports(void* ctx, const plinth_op* op) {
  return static_cast<const Executor*>(ctx)->can_run(*op) ? 1 : 0;
}
plinth_status optim_launch(void* ctx, const plinth_op* op) {
  return static_cast<Executor*>(ctx)->launch_abi(*op, "optimizer");
}

}  // namespace

plinth_optim_ops Executor::optimizer_ops() {
  return {sizeof(plinth_optim_ops), this, &optim_supports, &optim_launch};
}

}  // namespace plinth::exec
