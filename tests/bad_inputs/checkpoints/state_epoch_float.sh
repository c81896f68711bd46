#!/usr/bin/env bash
# a fractional epoch
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'epoch' must be an integer in [0, 2^53], got 1.5 (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"epoch\": [^,]*/  \"epoch\": 1.5/" "$CKPT/state.json"
