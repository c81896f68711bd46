#!/usr/bin/env bash
# model.safetensors cut short and its hash updated: the reader must catch it
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/model.safetensors: header length 184 exceeds the file size (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
rehash() { old=$(sed -n "s/.*\"$1\": \"\\([0-9a-f]*\\)\".*/\\1/p" "$CKPT/state.json"); new=$(sha256sum "$CKPT/$1" | cut -d" " -f1); sed -i "s/$old/$new/" "$CKPT/state.json"; }
truncate -s 100 "$CKPT/model.safetensors"
rehash model.safetensors
