#!/usr/bin/env bash
# no epoch
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'epoch' is missing (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "/^  \"epoch\":/d" "$CKPT/state.json"
