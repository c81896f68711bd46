#!/usr/bin/env bash
# the schedule's state as a number
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'schedule' must be a string, got 7 (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"schedule\": .*,$/  \"schedule\": 7,/" "$CKPT/state.json"
