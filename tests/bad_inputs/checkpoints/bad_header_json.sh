#!/usr/bin/env bash
# the safetensors header is not JSON
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/optimizer.safetensors: the header is not a JSON object (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
printf 'X' | dd of="$CKPT/optimizer.safetensors" bs=1 seek=8 conv=notrunc status=none
rehash optimizer.safetensors
