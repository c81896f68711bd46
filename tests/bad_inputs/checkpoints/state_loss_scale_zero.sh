#!/usr/bin/env bash
# a loss scale of 0
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'loss_scale' must be > 0, got 0 (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"loss_scale\": [^,]*/  \"loss_scale\": 0/" "$CKPT/state.json"
