#!/usr/bin/env bash
# a position of 2^63 (position x batch would overflow)
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'position' must be an integer in [0, 2^31], got 9223372036854775808 (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"position\": [^,]*/  \"position\": 9223372036854775808/" "$CKPT/state.json"
