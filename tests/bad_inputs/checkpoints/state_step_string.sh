#!/usr/bin/env bash
# the step as a string
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'step' must be an integer, got "4" (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"step\": \([0-9]*\)/  \"step\": \"\1\"/" "$CKPT/state.json"
