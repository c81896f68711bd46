// optim.cpp — the optimizer checks of plinth-plugin-check: several steps of
// each configuration, with a schedule-like learning rate, against the
// update rules of torch.optim.SGD and torch.optim.AdamW, and of Lion (Chen
// et al. 2023, Algorithm 2, decoupled weight decay), implemented here in
// double (plugins/optim/README.md documents those semantics). Ops run on the
// CPU backend through a plinth_optim_ops the tool provides, once offering
// the fused step ops and once refusing them (the composed path). Halfway the
// optimizer is destroyed and a new one continues from the saved state
// slots, as a resumed run does; scratch tensors hold NaN before each step.
// Then slot names, malformed steps and configs, and struct_size handling.
// Not here: backend op numerics (ops.cpp).
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>

#include "check.hpp"
#include "plinth/optimizer.h"

namespace plinth::plugin_check {

namespace {

// One hyper-parameter set, as the pipeline's [optimizer] table gives it.
struct Hyper {
  double lr = 0.01, momentum = 0, dampening = 0, weight_decay = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool nesterov = false, betas = false;
};

struct OptCase {
  std::string name;
  Hyper h;
  toml::table table;
};

// The reference state of one parameter, in double.
struct RefParam {
  std::vector<double> p, s0, s1;  // param; momentum_buffer or exp_avg; exp_avg_sq
};

void ref_sgd(const Hyper& h, RefParam& r, const std::vector<double>& g, double lr, int64_t step, bool decay) {
  const double wd = decay ? h.weight_decay : 0.0;
  for (size_t i = 0; i < r.p.size(); ++i) {
    double d = g[i] + wd * r.p[i];
    if (h.momentum != 0) {
      r.s0[i] = step == 1 ? d : h.momentum * r.s0[i] + (1 - h.dampening) * d;
      d = h.nesterov ? d + h.momentum * r.s0[i] : r.s0[i];
    }
    r.p[i] -= lr * d;
  }
}

void ref_adamw(const Hyper& h, RefParam& r, const std::vector<double>& g, double lr, int64_t step,
               bool decay) {
  const double wd = decay ? h.weight_decay : 0.0;
  const double bc1 = 1 - std::pow(h.beta1, double(step)), bc2 = 1 - std::pow(h.beta2, double(step));
  for (size_t i = 0; i < r.p.size(); ++i) {
    r.p[i] *= 1 - lr * wd;
    r.s0[i] = h.beta1 * r.s0[i] + (1 - h.beta1) * g[i];
    r.s1[i] = h.beta2 * r.s1[i] + (1 - h.beta2) * g[i] * g[i];
    r.p[i] -= lr * (r.s0[i] / bc1) / (std::sqrt(r.s1[i]) / std::sqrt(bc2) + h.eps);
  }
}

void ref_lion(const Hyper& h, RefParam& r, const std::vector<double>& g, double lr, bool decay) {
  const double wd = decay ? h.weight_decay : 0.0;
  for (size_t i = 0; i < r.p.size(); ++i) {
    const double u = h.beta1 * r.s0[i] + (1 - h.beta1) * g[i];
    r.p[i] = r.p[i] * (1 - lr * wd) - lr * (u > 0 ? 1.0 : u < 0 ? -1.0 : 0.0);
    r.s0[i] = h.beta2 * r.s0[i] + (1 - h.beta2) * g[i];
  }
}

// The documented state slots of each rule, in order.
std::vector<std::string> ref_slots(const std::string& rule, const Hyper& h) {
  if (rule == "adamw") return {"exp_avg", "exp_avg_sq"};
  if (rule == "lion") return {"exp_avg"};
  if (rule == "sgd" && h.momentum != 0) return {"momentum_buffer"};
  return {};
}

std::vector<OptCase> cases_for(const std::string& rule) {
  std::vector<OptCase> c;
  auto add = [&](std::string name, Hyper h) {
    OptCase oc{std::move(name), h, {}};
    oc.table.insert("lr", h.lr);
    if (rule == "sgd") {
      if (h.momentum != 0) oc.table.insert("momentum", h.momentum);
      if (h.dampening != 0) oc.table.insert("dampening", h.dampening);
      if (h.weight_decay != 0) oc.table.insert("weight_decay", h.weight_decay);
      if (h.nesterov) oc.table.insert("nesterov", true);
    } else if (rule == "adamw") {
      oc.table.insert("weight_decay", h.weight_decay);
      oc.table.insert("eps", h.eps);
      if (h.betas) oc.table.insert("betas", toml::array{h.beta1, h.beta2});
    } else if (rule == "lion") {  // every key given: the paper's defaults are not the tool's to assume
      oc.table.insert("weight_decay", h.weight_decay);
      oc.table.insert("betas", toml::array{h.beta1, h.beta2});
    }
    c.push_back(std::move(oc));
  };
  if (rule == "sgd") {
    add("lr=0.1", Hyper{0.1});
    add("momentum=0.9", Hyper{0.05, 0.9});
    add("momentum=0.9 dampening=0.1 weight_decay=0.01", Hyper{0.05, 0.9, 0.1, 0.01});
    Hyper n{0.02, 0.9, 0, 0.05};
    n.nesterov = true;
    add("nesterov momentum=0.9 weight_decay=0.05", n);
  } else if (rule == "adamw") {
    add("lr=0.01 weight_decay=0.01", Hyper{0.01, 0, 0, 0.01});
    Hyper b{0.005, 0, 0, 0.1, 0.8, 0.95, 1e-6};
    b.betas = true;
    add("betas=[0.8,0.95] eps=1e-6 weight_decay=0.1", b);
    add("weight_decay=0", Hyper{0.003, 0, 0, 0.0});
  } else if (rule == "lion") {
    add("lr=0.001 betas=[0.9,0.99] weight_decay=1", Hyper{0.001, 0, 0, 1.0, 0.9, 0.99});
    add("lr=0.003 betas=[0.95,0.98] weight_decay=0", Hyper{0.003, 0, 0, 0.0, 0.95, 0.98});
  } else {
    add("lr=0.01", Hyper{0.01});  // an optimizer without a reference rule: contract checks only
  }
  return c;
}

// The plinth_optim_ops the tool offers: the CPU backend, with or without
// the fused step ops.
bool is_fused_step(plinth_op_kind k) {
  return k == PLINTH_OP_ADAMW_STEP || k == PLINTH_OP_SGD_STEP || k == PLINTH_OP_LION_STEP;
}
struct Exec {
  BackendInstance* be;
  bool fused;
};
int32_t exec_supports(void* ctx, const plinth_op* op) {
  auto* e = static_cast<Exec*>(ctx);
  if (!e->fused && is_fused_step(op->kind)) return 0;
  return e->be->supports(*op) ? 1 : 0;
}
plinth_status exec_launch(void* ctx, const plinth_op* op) {
  auto* e = static_cast<Exec*>(ctx);
  if (!e->fused && is_fused_step(op->kind))
    return plugin_host()->set_error(plugin_host()->ctx, PLINTH_ERR_UNSUPPORTED,
                                    "plinth-plugin-check: the fused step was refused by supports()");
  return e->be->launch_raw(*op);
}

// One parameter on the backend: param, grad, state and scratch buffers.
struct DevParam {
  std::string name;
  int64_t rows, cols;
  bool decay;
  DeviceBuffer param, grad;
  std::vector<DeviceBuffer> state, scratch;
  std::vector<plinth_tensor> state_t, scratch_t;
  size_t n() const { return size_t(rows * cols); }
};

plinth_tensor view(const DeviceBuffer& b, int64_t rows, int64_t cols) {
  plinth_tensor t{};
  t.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
  t.buffer = b.get();
  t.dtype = PLINTH_DTYPE_F32;
  t.ndim = 2;
  t.shape[0] = rows;
  t.shape[1] = cols;
  t.strides[0] = cols;
  t.strides[1] = 1;
  return t;
}

Status upload_f(BackendInstance& be, const DeviceBuffer& b, const std::vector<double>& v) {
  std::vector<float> f(v.begin(), v.end());
  if (f.empty()) return {};
  return be.upload(b, 0, f.data(), f.size() * 4);
}
Result<std::vector<double>> download_f(BackendInstance& be, const DeviceBuffer& b, size_t n) {
  std::vector<float> f(n);
  if (n)
    if (Status s = be.download(f.data(), b, 0, n * 4); !s) return s;
  return std::vector<double>(f.begin(), f.end());
}

double nmse(const std::vector<double>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return den > 0 ? num / den : num;
}

struct Created {
  plinth_optimizer* opt = nullptr;
  std::string error;
};
Created create(const plinth_optimizer_v1* t, const Registry& reg, const toml::table& table) {
  Created c;
  auto cfg = plugin_config(table);
  if (!cfg) {
    c.error = cfg.status().message();
    return c;
  }
  (void)take_plugin_error();
  plinth_status s = t->create(reg.host(), cfg->get(), &c.opt);
  if (s != PLINTH_OK || !c.opt) {
    c.error = plugin_status(s == PLINTH_OK ? PLINTH_ERR_INTERNAL : s, "create").message();
    c.opt = nullptr;
  }
  return c;
}

constexpr int kSteps = 6, kResumeAfter = 3;
// NMSE, f32 against double over a few steps. The fused ops take their
// hyper-parameters as f32 (plinth_adamw_params), which alone gives ~2e-10
// for AdamW (0.999 rounded); a wrong rule gives 1e-4 and more.
constexpr double kThreshold = 1e-8;

// Run one case: kSteps steps (a new optimizer instance from step
// kResumeAfter + 1, its state restored), compare param and state with the
// reference after every step. Returns the worst NMSE, or sets `why`.
// RunOpts vary the run for the properties any optimizer must have (checked
// against another run of itself, whatever its rule): no resume halfway, the
// parameters stepped in reverse order, the learning rate scaled (0: none),
// and the parameters and state slots at the end, as floats, into `final`.
struct RunOpts {
  bool resume = true, reverse = false;
  double lr_scale = 1;
  std::vector<std::vector<float>>* final = nullptr;    // per parameter: param, then each state slot
  std::vector<std::vector<float>>* initial = nullptr;  // per parameter: param before the first step
};
double run_case(const plinth_optimizer_v1* t, const Registry& reg, const std::string& rule, const OptCase& oc,
                BackendInstance& be, bool fused, uint64_t seed, std::string& why, const RunOpts& o = {}) {
  Created cr = create(t, reg, oc.table);
  if (!cr.opt) {
    why = cr.error;
    return 0;
  }
  const double base = t->base_lr(cr.opt);
  if (std::fabs(base - oc.h.lr) > 1e-12 * oc.h.lr) {
    why = "base_lr() is " + std::to_string(base) + ", the config says " + std::to_string(oc.h.lr);
    t->destroy(cr.opt);
    return 0;
  }
  const int slots = t->num_state_slots(cr.opt), scratch = t->num_scratch_slots(cr.opt);
  const auto want_slots = ref_slots(rule, oc.h);
  std::vector<std::string> names;
  for (int k = 0; k < slots; ++k) {
    const char* nm = t->state_slot_name(cr.opt, k);
    names.push_back(nm ? nm : "");
  }
  if (!rule.empty() && names != want_slots) {
    std::string got, want;
    for (auto& n : names) got += (got.empty() ? "" : ",") + n;
    for (auto& n : want_slots) want += (want.empty() ? "" : ",") + n;
    why = "state slots [" + got + "], the documented rule keeps [" + want + "]";
    t->destroy(cr.opt);
    return 0;
  }
  // Parameters: a weight with decay, a bias without, an empty one.
  std::vector<DevParam> ps;
  std::vector<RefParam> refs;
  std::mt19937_64 rng(seed * 7919u + std::hash<std::string>()(oc.name));
  std::normal_distribution<double> normal(0.0, 1.0);
  struct Shape {
    const char* name;
    int64_t rows, cols;
    bool decay;
  };
  for (Shape sh :
       {Shape{"fc.weight", 33, 7, true}, Shape{"fc.bias", 1, 5, false}, Shape{"empty", 0, 3, true}}) {
    DevParam d{sh.name, sh.rows, sh.cols, sh.decay, {}, {}, {}, {}, {}, {}};
    const size_t n = d.n();
    auto pb = be.alloc(n * 4), gb = be.alloc(n * 4);
    if (!pb || !gb) {
      why = (!pb ? pb.status() : gb.status()).message();
      t->destroy(cr.opt);
      return 0;
    }
    d.param = std::move(*pb);
    d.grad = std::move(*gb);
    RefParam r;
    r.p.resize(n);
    for (auto& x : r.p) x = double(float(normal(rng)));
    r.s0.assign(n, 0.0);
    r.s1.assign(n, 0.0);
    (void)upload_f(be, d.param, r.p);
    for (int k = 0; k < slots + scratch; ++k) {
      auto b = be.alloc(n * 4);
      if (!b) {
        why = b.status().message();
        t->destroy(cr.opt);
        return 0;
      }
      (void)upload_f(be, *b, std::vector<double>(n, 0.0));  // the core zero-fills state
      (k < slots ? d.state : d.scratch).push_back(std::move(*b));
    }
    for (auto& b : d.state) d.state_t.push_back(view(b, sh.rows, sh.cols));
    for (auto& b : d.scratch) d.scratch_t.push_back(view(b, sh.rows, sh.cols));
    ps.push_back(std::move(d));
    refs.push_back(std::move(r));
  }
  if (o.initial)
    for (const auto& r : refs) o.initial->emplace_back(r.p.begin(), r.p.end());
  // Every step's gradients, drawn in one order whatever order the steps take.
  std::vector<std::vector<std::vector<double>>> grads(kSteps + 1);
  for (int64_t step = 1; step <= kSteps; ++step)
    for (const auto& d : ps) {
      grads[size_t(step)].emplace_back(d.n());
      for (auto& x : grads[size_t(step)].back()) x = double(float(normal(rng)));
    }
  Exec ex{&be, fused};
  plinth_optim_ops ops{PLINTH_OPTIM_OPS_STRUCT_SIZE, &ex, exec_supports, exec_launch};
  double worst = 0;
  plinth_optimizer* opt = cr.opt;
  for (int64_t step = 1; step <= kSteps && why.empty(); ++step) {
    if (o.resume && step == kResumeAfter + 1) {
      // As a resumed run: the state slots survive, the instance does not.
      t->destroy(opt);
      Created again = create(t, reg, oc.table);
      if (!again.opt) {
        why = "re-creating for the resumed steps: " + again.error;
        return worst;
      }
      opt = again.opt;
    }
    const double lr = o.lr_scale * oc.h.lr * (1.0 - 0.1 * double(step - 1));  // a decaying schedule
    for (size_t kk = 0; kk < ps.size() && why.empty(); ++kk) {
      const size_t k = o.reverse ? ps.size() - 1 - kk : kk;
      DevParam& d = ps[k];
      const std::vector<double>& g = grads[size_t(step)][k];
      (void)upload_f(be, d.grad, g);
      for (auto& s : d.scratch)  // scratch holds no promise: NaN until written
        (void)upload_f(be, s, std::vector<double>(d.n(), std::numeric_limits<double>::quiet_NaN()));
      plinth_optim_param p{};
      p.struct_size = PLINTH_OPTIM_PARAM_STRUCT_SIZE;
      p.name = d.name.c_str();
      p.param = view(d.param, d.rows, d.cols);
      p.grad = view(d.grad, d.rows, d.cols);
      p.state = d.state_t.empty() ? nullptr : d.state_t.data();
      p.scratch = d.scratch_t.empty() ? nullptr : d.scratch_t.data();
      p.apply_weight_decay = d.decay ? 1 : 0;
      plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, lr, step};
      (void)take_plugin_error();
      plinth_status s = t->step(opt, &ops, &p, &info);
      if (s == PLINTH_OK) {
        if (Status sy = be.synchronize(); !sy) {
          why = sy.message();
          break;
        }
      }
      if (s != PLINTH_OK) {
        why = plugin_status(s, "step " + std::to_string(step) + " of '" + d.name + "'").message();
        break;
      }
      if (rule.empty()) continue;
      if (rule == "sgd")
        ref_sgd(oc.h, refs[k], g, lr, step, d.decay);
      else if (rule == "lion")
        ref_lion(oc.h, refs[k], g, lr, d.decay);
      else
        ref_adamw(oc.h, refs[k], g, lr, step, d.decay);
      auto got = download_f(be, d.param, d.n());
      if (!got) {
        why = got.status().message();
        break;
      }
      double e = nmse(*got, refs[k].p);
      std::string what = "param";
      for (int sl = 0; sl < slots; ++sl) {
        auto st = download_f(be, d.state[size_t(sl)], d.n());
        if (!st) {
          why = st.status().message();
          break;
        }
        const double es = nmse(*st, sl == 0 ? refs[k].s0 : refs[k].s1);
        if (es > e || !std::isfinite(es)) e = es, what = names[size_t(sl)];
      }
      worst = std::max(worst, e);
      if (!(e <= kThreshold))
        why = "step " + std::to_string(step) + ", '" + d.name + "' " + what + ": NMSE " + std::to_string(e) +
              " against the reference";
    }
  }
  for (size_t k = 0; o.final && why.empty() && k < ps.size(); ++k) {
    for (int sl = -1; sl < slots && why.empty(); ++sl) {
      auto v = download_f(be, sl < 0 ? ps[k].param : ps[k].state[size_t(sl)], ps[k].n());
      if (!v)
        why = v.status().message();
      else
        o.final->emplace_back(v->begin(), v->end());
    }
  }
  t->destroy(opt);
  return worst;
}

// The properties any optimizer must have, whatever its update rule, each
// checked against another run of the same configuration (so they hold for
// rules the tool has no reference for): finite in, finite out; a new
// instance resumed from the state slots halfway continues exactly as the
// uninterrupted one; the order the parameters are stepped in does not
// matter; a learning rate of 0 leaves every parameter as it was.
// Whether each key the component declares (config_keys) other than lr is
// read and used: two values create() accepts must give two trajectories,
// with the other keys as the case sets them or each at a value create()
// accepts (so a key that only matters beside another, as SGD's dampening
// beside momentum, is still seen to matter). The tool does not know a key's
// meaning, so it tries a few numbers, booleans and pairs.
void key_cases(const plinth_optimizer_v1* t, const Registry& reg, const std::string& comp, const OptCase& oc,
               const char* const* keys, BackendInstance& be, uint64_t seed, Rows& out) {
  std::vector<std::string> names;
  for (const char* const* k = keys; k && *k; ++k)
    if (std::string(*k) != "lr") names.emplace_back(*k);
  if (names.empty()) return;
  std::vector<toml::table> tries;  // candidate values, each a one-key table {"v": value}
  for (double d : {0.5, 0.05, 0.9, 2.0}) tries.push_back(toml::table{{"v", d}});
  for (int64_t i : {2, 5}) tries.push_back(toml::table{{"v", i}});
  for (bool b : {true, false}) tries.push_back(toml::table{{"v", b}});
  tries.push_back(toml::table{{"v", toml::array{0.8, 0.95}}});
  tries.push_back(toml::table{{"v", toml::array{0.5, 0.9}}});
  auto with = [](toml::table tb, const std::string& key, const toml::table& value) {
    tb.insert_or_assign(key, *value.get("v"));
    return tb;
  };
  auto accepted = [&](const toml::table& tb) {
    Created c = create(t, reg, tb);
    if (c.opt) t->destroy(c.opt);
    return c.opt != nullptr;
  };
  // Per key, the candidates create() accepts on the case's table (up to 3).
  std::map<std::string, std::vector<const toml::table*>> ok;
  for (const auto& k : names)
    for (const auto& v : tries)
      if (ok[k].size() < 3 && accepted(with(oc.table, k, v))) ok[k].push_back(&v);
  auto final_of = [&](const toml::table& tb, std::vector<std::vector<float>>& f, std::string& why) {
    OptCase c{oc.name, oc.h, tb};
    run_case(t, reg, "", c, be, true, seed, why, RunOpts{.resume = false, .final = &f});
    return why.empty();
  };
  for (const auto& k : names) {
    const std::string name = oc.name + ": declared key '" + k + "' changes the steps";
    if (ok[k].size() < 2) {
      out.push_back(
          CaseResult{"optim", comp, name, "warn", 0, 0,
                     "create() accepted fewer than two of the values tried for it (numbers, integers, "
                     "booleans, pairs); not checked"});
      continue;
    }
    // The others as the case sets them, then each at its first accepted value.
    toml::table others = oc.table;
    for (const auto& o : names)
      if (o != k && !ok[o].empty()) others = with(others, o, *ok[o][0]);
    bool differs = false, ran = false;
    std::string why;
    for (const toml::table* base :
         {static_cast<const toml::table*>(&oc.table), static_cast<const toml::table*>(&others)}) {
      std::vector<std::vector<float>> first;
      for (size_t i = 0; i < ok[k].size() && !differs; ++i) {
        std::vector<std::vector<float>> f;
        std::string w;
        if (!final_of(with(*base, k, *ok[k][i]), f, w)) continue;  // refused beside the others
        if (!ran)
          first = f, ran = true;
        else
          differs = f != first;
      }
      if (differs) break;
      ran = false;
    }
    out.push_back(CaseResult{"optim", comp, name, differs ? "pass" : "fail", 0, 0,
                             differs ? ""
                                     : "every value create() accepted for '" + k +
                                           "' gave the same parameters and state after 6 steps: the key "
                                           "is declared but not used"});
  }
}

void property_cases(const plinth_optimizer_v1* t, const Registry& reg, const std::string& comp,
                    const OptCase& oc, BackendInstance& be, uint64_t seed, Rows& out,
                    const ThreadedRefs& threaded) {
  auto add = [&](const std::string& name, bool ok, const std::string& why) {
    out.push_back(
        CaseResult{"optim", comp, oc.name + ": " + name, ok ? "pass" : "fail", 0, 0, ok ? "" : why});
  };
  std::vector<std::vector<float>> plain, resumed, reversed, still, before;
  std::string why;
  // Each run against the uninterrupted one; `why` holds the first failure.
  auto run = [&](const RunOpts& o) {
    why.clear();
    run_case(t, reg, "", oc, be, true, seed, why, o);
    return why.empty();
  };
  if (!run({.resume = false, .final = &plain})) return add("six steps run", false, why);
  bool finite = true;
  for (const auto& v : plain)
    for (float x : v) finite &= std::isfinite(x);
  add("finite gradients keep the parameters and state finite", finite, "a NaN or infinity after 6 steps");
  // (the run first: its `why` is the detail when it fails)
  bool same = run({.final = &resumed}) && resumed == plain;
  add("a new instance resumed from the state slots continues as the uninterrupted one", same,
      why.empty() ? "the parameters or state differ after 6 steps" : why);
  same = run({.resume = false, .reverse = true, .final = &reversed}) && reversed == plain;
  add("the parameters stepped in another order give the same result", same,
      why.empty() ? "the result depends on the order of the parameters" : why);
  run({.resume = false, .lr_scale = 0, .final = &still, .initial = &before});
  bool unchanged = why.empty() && !before.empty() && still.size() % before.size() == 0;
  const size_t per = before.empty() ? 0 : still.size() / before.size();  // param, then its slots
  for (size_t k = 0; unchanged && k < before.size(); ++k) unchanged = still[k * per] == before[k];
  add("a learning rate of 0 leaves every parameter as it was", unchanged,
      why.empty() ? "a parameter changed with lr = 0" : why);
  // The backend at 1 and 3 threads: the same steps up to rounding (a norm's
  // partial sums may be added in another order; a race or an order-dependent
  // update differs by far more than NMSE 1e-12).
  const std::string tname = "the same result with the backend at 1 and 3 threads";
  if (!threaded.one || !threaded.three) {
    out.push_back(
        CaseResult{"optim", comp, oc.name + ": " + tname, "warn", 0, 0, "not checked: " + threaded.why});
  } else {
    std::vector<std::vector<float>> at1, at3;
    std::string w1, w3;
    run_case(t, reg, "", oc, *threaded.one, true, seed, w1, RunOpts{.resume = false, .final = &at1});
    run_case(t, reg, "", oc, *threaded.three, true, seed, w3, RunOpts{.resume = false, .final = &at3});
    double worst = 0;
    bool same_shape = w1.empty() && w3.empty() && at1.size() == plain.size() && at3.size() == plain.size();
    for (size_t k = 0; same_shape && k < plain.size(); ++k) {
      same_shape = at1[k].size() == plain[k].size() && at3[k].size() == plain[k].size();
      std::vector<double> ref(plain[k].begin(), plain[k].end());
      if (same_shape)
        for (const auto* v : {&at1[k], &at3[k]})
          worst = std::max(worst, nmse(std::vector<double>(v->begin(), v->end()), ref));
    }
    const bool ok = same_shape && worst <= 1e-12;
    out.push_back(CaseResult{"optim", comp, oc.name + ": " + tname, ok ? "pass" : "fail", worst, 1e-12,
                             ok            ? ""
                             : !w1.empty() ? w1
                             : !w3.empty() ? w3
                             : same_shape
                                 ? "the parameters or state differ (NMSE " + std::to_string(worst) + ")"
                                 : "a run gave other tensors"});
  }
}

// Malformed steps and configs on an instance of the case's config: each must
// return an error (not crash) and leave the parameter as it was.
void error_cases(const plinth_optimizer_v1* t, const Registry& reg, const std::string& comp,
                 const OptCase& oc, BackendInstance& be, Rows& out) {
  auto add = [&](const std::string& name, bool ok, const std::string& why, const char* fail = "fail") {
    out.push_back(CaseResult{"optim", comp, name, ok ? "pass" : fail, 0, 0, ok ? "" : why});
  };
  {
    auto cfg = plugin_config(oc.table);
    plinth_status s = cfg ? t->create(reg.host(), cfg->get(), nullptr) : PLINTH_ERR_INTERNAL;
    (void)take_plugin_error();
    add("create with NULL out returns an error", s != PLINTH_OK, "returned OK");
  }
  {
    toml::table bad = oc.table;
    bad.insert_or_assign("lr", -1.0);
    Created c = create(t, reg, bad);
    add("create with lr = -1 returns an error", !c.opt, "accepted a negative learning rate");
    if (c.opt) t->destroy(c.opt);
    toml::table wrong = oc.table;
    wrong.insert_or_assign("lr", "fast");
    c = create(t, reg, wrong);
    add("create with lr = \"fast\" (a string) returns an error", !c.opt, "accepted a string for lr");
    if (c.opt) t->destroy(c.opt);
  }
  Created cr = create(t, reg, oc.table);
  if (!cr.opt) {
    add("create for the error checks", false, cr.error);
    return;
  }
  const int slots = t->num_state_slots(cr.opt), scratch = t->num_scratch_slots(cr.opt);
  add("state_slot_name(num_state_slots) is NULL", t->state_slot_name(cr.opt, slots) == nullptr,
      "returned a name past the last slot");
  const int64_t n = 17;
  auto pb = be.alloc(n * 4), gb = be.alloc(n * 4), ib = be.alloc(n * 4);
  std::vector<DeviceBuffer> extra;
  std::vector<plinth_tensor> st, sc;
  for (int k = 0; k < slots + scratch; ++k) {
    auto b = be.alloc(n * 4);
    if (!b) break;
    (void)upload_f(be, *b, std::vector<double>(n, 0.0));
    (k < slots ? st : sc).push_back(view(*b, 1, n));
    extra.push_back(std::move(*b));
  }
  if (!pb || !gb || !ib || int(extra.size()) != slots + scratch) {
    add("buffers for the error checks", false, "allocation failed");
    t->destroy(cr.opt);
    return;
  }
  std::vector<double> p0(n), g0(n, 0.5);
  for (int64_t i = 0; i < n; ++i) p0[size_t(i)] = double(float(0.1 * double(i) - 0.7));  // f32 on the device
  (void)upload_f(be, *pb, p0);
  (void)upload_f(be, *gb, g0);
  Exec ex{&be, true};
  const plinth_optim_ops ops{PLINTH_OPTIM_OPS_STRUCT_SIZE, &ex, exec_supports, exec_launch};
  plinth_optim_param good{};
  good.struct_size = PLINTH_OPTIM_PARAM_STRUCT_SIZE;
  good.name = "w";
  good.param = view(*pb, 1, n);
  good.grad = view(*gb, 1, n);
  good.state = st.empty() ? nullptr : st.data();
  good.scratch = sc.empty() ? nullptr : sc.data();
  good.apply_weight_decay = 1;
  const plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, 0.01, 1};
  struct Bad {
    std::string name;
    std::function<plinth_status()> call;
  };
  std::vector<Bad> bad;
  bad.push_back({"NULL ops", [&] { return t->step(cr.opt, nullptr, &good, &info); }});
  bad.push_back({"NULL parameter", [&] { return t->step(cr.opt, &ops, nullptr, &info); }});
  bad.push_back({"NULL step info", [&] { return t->step(cr.opt, &ops, &good, nullptr); }});
  bad.push_back({"step 0 (steps count from 1)", [&] {
                   plinth_optim_step_info i = info;
                   i.step = 0;
                   return t->step(cr.opt, &ops, &good, &i);
                 }});
  bad.push_back({"lr NaN", [&] {
                   plinth_optim_step_info i = info;
                   i.lr = std::numeric_limits<double>::quiet_NaN();
                   return t->step(cr.opt, &ops, &good, &i);
                 }});
  bad.push_back({"lr -1", [&] {
                   plinth_optim_step_info i = info;
                   i.lr = -1;
                   return t->step(cr.opt, &ops, &good, &i);
                 }});
  bad.push_back({"parameter struct_size 0", [&] {
                   plinth_optim_param p = good;
                   p.struct_size = 0;
                   return t->step(cr.opt, &ops, &p, &info);
                 }});
  bad.push_back({"i32 gradient", [&] {
                   plinth_optim_param p = good;
                   p.grad.dtype = PLINTH_DTYPE_I32;
                   return t->step(cr.opt, &ops, &p, &info);
                 }});
  if (slots > 0)
    bad.push_back({"NULL state with " + std::to_string(slots) + " state slot(s)", [&] {
                     plinth_optim_param p = good;
                     p.state = nullptr;
                     return t->step(cr.opt, &ops, &p, &info);
                   }});
  if (scratch > 0)
    bad.push_back({"NULL scratch with " + std::to_string(scratch) + " scratch slot(s)", [&] {
                     plinth_optim_param p = good;
                     p.scratch = nullptr;
                     return t->step(cr.opt, &ops, &p, &info);
                   }});
  for (const auto& b : bad) {
    (void)take_plugin_error();
    plinth_status s = b.call();
    const std::string msg = take_plugin_error();
    (void)be.synchronize();
    if (s == PLINTH_OK)
      add("step with " + b.name + " returns an error", false, "returned OK");
    else if (msg.empty())
      add("step with " + b.name + " returns an error", false,
          "returned an error without a message (set_error)", "warn");
    else
      add("step with " + b.name + " returns an error", true, "");
  }
  auto after = download_f(be, *pb, n);
  add("the malformed steps left the parameter unchanged", after.ok() && *after == p0,
      after.ok() ? "the parameter changed" : after.status().message());
  // A newer host's larger plinth_optim_param: the same step must run.
  {
    struct Padded {
      plinth_optim_param p;
      unsigned char tail[32];
    } padded;
    std::memset(&padded, 0, sizeof padded);
    padded.p = good;
    padded.p.struct_size = sizeof padded;
    (void)take_plugin_error();
    plinth_status s = t->step(cr.opt, &ops, &padded.p, &info);
    (void)be.synchronize();
    add("step with a larger plinth_optim_param struct_size (newer host) runs", s == PLINTH_OK,
        plugin_status(s, "step").message());
  }
  t->destroy(cr.opt);
}

}  // namespace

void run_optimizer(const Registry& reg, const std::string& name, const std::string& rule, BackendInstance& be,
                   uint64_t seed, Rows& out, const ThreadedRefs& threaded) {
  auto comp = reg.find(PLINTH_KIND_OPTIMIZER, name);
  if (!comp) {
    out.push_back(CaseResult{"optim", name, "component", "fail", 0, 0, comp.status().message()});
    return;
  }
  const auto* t = static_cast<const plinth_optimizer_v1*>((*comp)->table);
  const auto cases = cases_for(rule);
  size_t index = 0;
  for (const auto& oc : cases) {
    for (bool fused : {true, false}) {
      CaseResult r{"optim",    name, oc.name + (fused ? " (fused ops offered)" : " (composed ops)"), "", 0,
                   kThreshold, ""};
      if (!out.begin(index++, name, r.name)) continue;
      std::string why;
      r.error = run_case(t, reg, rule, oc, be, fused, seed, why);
      if (!why.empty())
        r.status = "fail", r.detail = why;
      else if (rule.empty())
        r.status = "no-reference",
        r.detail = "ran " + std::to_string(kSteps) + " steps; no reference rule (use --optimizer-rule)";
      else
        r.status = "pass";
      out.push_back(r);
    }
  }
  if (rule.empty() && out.begin(index++, name, "the properties any optimizer must have"))
    property_cases(t, reg, name, cases.back(), be, seed, out, threaded);
  if (rule.empty() && out.begin(index++, name, "its declared config keys are used"))
    key_cases(t, reg, name, cases.back(), (*comp)->config_keys, be, seed, out);
  if (out.begin(index++, name, "malformed calls")) error_cases(t, reg, name, cases.back(), be, out);
}

}  // namespace plinth::plugin_check
