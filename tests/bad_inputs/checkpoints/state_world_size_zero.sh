#!/usr/bin/env bash
# a world size of 0
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'world_size' must be an integer in [1, 16777216], got 0 (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"world_size\": [^,]*/  \"world_size\": 0/" "$CKPT/state.json"
