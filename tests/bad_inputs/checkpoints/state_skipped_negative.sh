#!/usr/bin/env bash
# a negative counter (skipped steps)
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'skipped_steps' must be an integer in [0, 2^53], got -1 (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"skipped_steps\": [^,]*/  \"skipped_steps\": -1/" "$CKPT/state.json"
