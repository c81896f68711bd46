#!/usr/bin/env bash
# a negative position in the epoch
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'position' must be an integer in [0, 2^31], got -3 (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"position\": [^,]*/  \"position\": -3/" "$CKPT/state.json"
