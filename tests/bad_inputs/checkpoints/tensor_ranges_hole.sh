#!/usr/bin/env bash
# four data bytes between two tensors belong to neither
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/model.safetensors: data bytes [96, 100) belong to no tensor (a hole after tensor 'linear0.weight', before tensor 'linear0.bias') (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
python3 "$(dirname "$0")/st_rewrite.py" "$CKPT/model.safetensors" offsets:linear0.bias:100:112 grow:4
rehash model.safetensors
