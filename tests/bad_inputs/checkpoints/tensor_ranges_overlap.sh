#!/usr/bin/env bash
# two tensors' data ranges overlap (the bias reads the weight's last bytes)
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/model.safetensors: tensors 'linear0.weight' [0, 96) and 'linear0.bias' [84, 96) overlap (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
python3 "$(dirname "$0")/st_rewrite.py" "$CKPT/model.safetensors" offsets:linear0.bias:84:96
rehash model.safetensors
