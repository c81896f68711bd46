#!/usr/bin/env bash
# model.safetensors cut short and its hash updated: the reader must catch it
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/model.safetensors: header length 184 exceeds the file size (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
truncate -s 100 "$CKPT/model.safetensors"
rehash model.safetensors
