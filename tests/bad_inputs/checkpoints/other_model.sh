#!/usr/bin/env bash
# the pipeline's model is not the one the checkpoint was written by (a hidden layer added)
# expect: pipeline.toml: cannot resume from runs/ckpt/checkpoints/step-4: it was written by a different pipeline
set -e
sed -i 's/^\[\[model.layer\]\]$/[[model.layer]]\ntype = "linear"\nout = 5\n\n[[model.layer]]/' pipeline.toml
grep -q "out = 5" pipeline.toml
