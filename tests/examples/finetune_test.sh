#!/usr/bin/env bash
# finetune_test.sh PLINTH PIPELINE MANIFESTS — fine-tuning end to end on the
# tiny character GPT: train it on "abcd efgh ...", then LoRA-tune it on a
# different text ("dcba hgfe ...", read with the first run's vocabulary):
#   - only the adapters train (the log's share of trained weights);
#   - the validation loss on the new text falls below the base model's;
#   - `plinth export --weights` merges the adapters, and the merged weights,
#     loaded by a pipeline without [model.lora], give the same loss;
#   - [init] errors name the pipeline key and the file.
set -u
plinth=$1 pipeline=$2 manifests=$3
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work"
for _ in $(seq 400); do printf 'abcd efgh '; done > text.txt
for _ in $(seq 400); do printf 'dcba hgfe '; done > new.txt
run() { "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
loss_of() { sed -n 's/.*"eval_loss": \([0-9.e+-]*\).*/\1/p'; }

sed -e 's/max_steps = 300/max_steps = 150/' -e 's/eval_every = 300/eval_every = 150/' "$pipeline" > base.toml
run train --no-progress base.toml > base.log 2>&1 || { cat base.log; fail "base training"; }

# The same model on the new text, read with the base run's vocabulary.
on_new() {  # on_new NAME [INIT_FROM] < extra TOML: base.toml retargeted at new.txt
  sed -e "s/name = \"tiny-gpt\"/name = \"$1\"/" -e 's/path = "text.txt"/path = "new.txt"\nvocab = "runs\/tiny-gpt\/vocab.json"/' base.toml
  cat
}
on_new base-on-new <<'EOF2' > base_on_new.toml
[init]
from = "runs/tiny-gpt"
EOF2
before=$(run eval base_on_new.toml 2> eval0.log | loss_of)
[ -n "$before" ] || { cat eval0.log; fail "plinth eval of the base model"; }

on_new tiny-lora <<'EOF2' > lora.toml
[init]
from = "runs/tiny-gpt"

[model.lora]
rank = 2
alpha = 4
targets = ["h.attn.c_attn", "f.c_fc"]
EOF2
run train --no-progress lora.toml > lora.log 2>&1 || { cat lora.log; fail "LoRA training"; }
share=$(sed -n 's/.*training [0-9]* of [0-9]* weights (\([0-9.]*\)%).*/\1/p' lora.log)
[ -n "$share" ] || { cat lora.log; fail "no 'training N of M weights' line"; }
after=$(sed -n 's/.*eval loss \([0-9.]*\)[,;].*/\1/p' lora.log | tail -n1)
echo "trained share ${share}%; validation loss on the new text: base $before, LoRA-tuned $after"
awk -v s="$share" 'BEGIN { exit !(s > 0 && s < 20) }' || fail "trained share ${share}% (only the adapters should train)"
awk -v a="$after" -v b="$before" 'BEGIN { exit !(a > 0 && a < b / 2) }' || fail "the LoRA-tuned loss $after is not below half the base's $before"

run export runs/tiny-lora --weights merged.safetensors 2> export.log || { cat export.log; fail "export"; }
grep -q "LoRA adapters merged into 2 layer(s)" export.log || { cat export.log; fail "export did not merge 2 layers"; }
on_new merged <<'EOF2' > merged.toml
[init]
from = "merged.safetensors"
EOF2
# The adapted model (its own final weights) against the merged one: the same loss.
on_new lora-eval <<'EOF2' > lora_eval.toml
[init]
from = "runs/tiny-lora"

[model.lora]
rank = 2
alpha = 4
targets = ["h.attn.c_attn", "f.c_fc"]
EOF2
a=$(run eval lora_eval.toml 2> /dev/null | loss_of)
m=$(run eval merged.toml 2> merged.log | loss_of)
echo "eval loss: adapted $a, merged $m"
awk -v a="$a" -v m="$m" 'BEGIN { d = a - m; if (d < 0) d = -d; exit !(a > 0 && d <= 1e-5 * (a > 1 ? a : 1)) }' \
  || { cat merged.log; fail "merged loss $m differs from the adapted model's $a"; }
grep -q "init: 16 of 16 parameter tensors from merged.safetensors" merged.log || { cat merged.log; fail "merged export is not the plain model's 16 tensors"; }

# Errors: a missing source, a pattern matching nothing.
on_new bad <<'EOF2' > bad.toml
[init]
from = "runs/nope"
EOF2
run validate bad.toml > bad.log 2>&1
[ $? -eq 2 ] || fail "a missing [init] from: expected exit 2"
grep -q "bad.toml:.*init.from: 'runs/nope': no such run folder or .safetensors file" bad.log || { cat bad.log; fail "the error does not name init.from"; }
echo "ok"
