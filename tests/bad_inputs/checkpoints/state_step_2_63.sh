#!/usr/bin/env bash
# a step of 2^63 (past int64)
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'step' is 9223372036854775808, not the folder's step 4 (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"step\": [0-9]*/  \"step\": 9223372036854775808/" "$CKPT/state.json"
