#!/usr/bin/env bash
# the model file holds a tensor of another name
# expect: runs/ckpt/checkpoints/step-4/model.safetensors: no tensor 'linear0.weight' (it holds: linear0.bias, linear0.wEight)
set -e
rehash() { old=$(sed -n "s/.*\"$1\": \"\\([0-9a-f]*\\)\".*/\\1/p" "$CKPT/state.json"); new=$(sha256sum "$CKPT/$1" | cut -d" " -f1); sed -i "s/$old/$new/" "$CKPT/state.json"; }
sed -i 's/"linear0\.weight"/"linear0\.wEight"/' "$CKPT/model.safetensors"
rehash model.safetensors
