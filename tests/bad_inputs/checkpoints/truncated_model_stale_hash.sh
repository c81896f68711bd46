#!/usr/bin/env bash
# model.safetensors cut short, state.json unchanged
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/model.safetensors: xxh128 checksum does not match state.json (corrupt or truncated) (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
truncate -s 100 "$CKPT/model.safetensors"
