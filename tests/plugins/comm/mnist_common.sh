# mnist_common.sh — sourced by the data-parallel tests of the MNIST example
# (and bench/sync_stragglers.sh). Sets $src (the source tree) and $data (the
# example's data), or skips (exit 77) without mpirun or the data.
# mnist_short_pipeline EPOCHS [LOG_EVERY]: the example (its model, data and
# optimizer) on the short schedule of these tests, on stdout: per-rank batch
# 32, lr 2e-3, at most EPOCHS epochs, evaluated every 50 steps and stopped at
# the example's 95% target, absolute data paths.
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
command -v mpirun >/dev/null || { echo "SKIP: mpirun not found (install openmpi-bin)"; exit 77; }
data=$src/examples/mnist/data
[ -f "$data/t10k-labels-idx1-ubyte.gz" ] || { echo "SKIP: MNIST data not prepared; run examples/mnist/prepare_data.sh"; exit 77; }

mnist_short_pipeline() {
  local epochs=$1 log_every=${2:-10} text
  text=$(sed -e "s#\"data/#\"$data/#" \
    -e "s/^epochs = 15\$/epochs = $epochs/" \
    -e 's/^batch_size = 128$/batch_size = 32/' \
    -e 's/^lr = 1e-3$/lr = 2e-3/' \
    -e "s/^log_every = 20\$/log_every = $log_every\\neval_every = 50\\nstop_at_target = true/" \
    "$src/examples/mnist/pipeline.toml")
  local want
  for want in "epochs = $epochs" 'batch_size = 32' 'lr = 2e-3' 'stop_at_target = true'; do
    grep -q "^$want" <<< "$text" || { echo "FAIL: the example changed: no '$want' after editing" >&2; return 1; }
  done
  printf '%s\n' "$text"
}
