#!/usr/bin/env bash
# a string where a boolean belongs
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'stopped' must be true or false, got "no" (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"stopped\": [^,]*/  \"stopped\": \"no\"/" "$CKPT/state.json"
