#!/usr/bin/env bash
# the header names a tensor twice (a JSON parser would silently keep one)
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/model.safetensors: tensor 'linear0.weight' is named twice in the header (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
python3 "$(dirname "$0")/st_rewrite.py" "$CKPT/model.safetensors" rename:linear0.bias:linear0.weight
rehash model.safetensors
