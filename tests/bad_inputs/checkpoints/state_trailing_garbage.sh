#!/usr/bin/env bash
# garbage after the JSON object
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: not a JSON object (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
printf "garbage\n" >> "$CKPT/state.json"
