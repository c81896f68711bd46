#!/usr/bin/env bash
# batchnorm_init_test.sh PLINTH PIPELINE MANIFESTS — [init] from restores
# batch-norm running statistics: a run of PIPELINE (a model with batchnorm)
# trains 10 steps and evaluates at its last one; `plinth eval` of the same
# model loaded by [init] from that run must print the same eval loss (the
# evaluation program normalises with the running statistics). The control
# loads only the weights and biases (`include`), leaving the running
# statistics at their start (mean 0, var 1): its loss must differ. The run's
# model.safetensors must hold the running statistics under torch's names.
set -eu
plinth=$1 pipeline=$2 manifests=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
run() { "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
sed -e 's/^epochs = .*/max_steps = 10/' -e 's/^eval_every = .*/eval_every = 10/' "$pipeline" > a.toml
run train --no-progress --out-dir "$work/runs" a.toml > a.log 2>&1 || { cat a.log; fail "training"; }
model="$work/runs/resume/model.safetensors"
for name in stem_bn.running_mean stem_bn.running_var res2.proj_bn.running_var; do
  grep -aq "\"$name\"" "$model" || fail "model.safetensors has no $name"
done
trained=$(sed -n 's/.*"eval_loss": *\([0-9.e+-]*\).*/\1/p' "$work/runs/resume/summary.json")
[ -n "$trained" ] || { cat "$work/runs/resume/summary.json"; fail "no eval_loss in the summary"; }
loss_of() { sed -n 's/.*"eval_loss": *\([0-9.e+-]*\).*/\1/p'; }
{ cat "$pipeline"; printf '\n[init]\nfrom = "%s"\n' "$work/runs/resume"; } > loaded.toml
loaded=$(run eval loaded.toml 2> loaded.log | loss_of)
[ -n "$loaded" ] || { cat loaded.log; fail "plinth eval of the loaded model"; }
{ cat "$pipeline"; printf '\n[init]\nfrom = "%s"\ninclude = ["*.weight", "*.bias"]\n' "$work/runs/resume"; } > control.toml
control=$(run eval control.toml 2> control.log | loss_of)
[ -n "$control" ] || { cat control.log; fail "plinth eval of the control"; }
echo "eval loss: trained run $trained, loaded $loaded, without running statistics $control"
awk -v a="$trained" -v b="$loaded" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-6 * (1 + a)) }' ||
  fail "the loaded model's eval loss differs from the run's"
awk -v a="$trained" -v b="$control" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d > 1e-3) }' ||
  fail "the control (no running statistics) should differ"
echo "running statistics restored by [init] from"
