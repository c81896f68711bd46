#!/usr/bin/env bash
# state.json without its step
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: missing 'step' or 'files' (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "/^  \"step\":/d" "$CKPT/state.json"
