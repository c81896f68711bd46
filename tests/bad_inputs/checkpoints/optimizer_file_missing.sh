#!/usr/bin/env bash
# optimizer.safetensors deleted
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/optimizer.safetensors: missing (state.json lists it) (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
rm "$CKPT/optimizer.safetensors"
