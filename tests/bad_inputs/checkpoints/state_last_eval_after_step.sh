#!/usr/bin/env bash
# an evaluation after the checkpoint
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'last_eval_step' is 9, after the checkpoint's step 4 (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i "s/^  \"last_eval_step\": [^,]*/  \"last_eval_step\": 9/" "$CKPT/state.json"
