#!/usr/bin/env bash
# samples since the last log of 2^63
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'samples_since_log' must be an integer in [0, 2^53], got 9223372036854775807 (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"samples_since_log\": [^,]*/  \"samples_since_log\": 9223372036854775807/" "$CKPT/state.json"
