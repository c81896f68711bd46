#!/usr/bin/env bash
# the model file holds a tensor of another name
# expect: runs/ckpt/checkpoints/step-4/model.safetensors: no tensor 'linear0.weight' (it holds: linear0.bias, linear0.wEight)
set -e
sed -i 's/"linear0\.weight"/"linear0\.wEight"/' "$CKPT/model.safetensors"
rehash model.safetensors
