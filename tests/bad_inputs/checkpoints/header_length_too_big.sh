#!/usr/bin/env bash
# a header length past the end of the file
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/model.safetensors: header length 65535 exceeds the file size (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
printf '\xff\xff\x00\x00\x00\x00\x00\x00' | dd of="$CKPT/model.safetensors" bs=1 seek=0 conv=notrunc status=none
rehash model.safetensors
