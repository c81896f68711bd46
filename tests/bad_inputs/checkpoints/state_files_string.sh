#!/usr/bin/env bash
# the files' hashes as a string instead of an object
# expect: cannot resume: the newest checkpoint is damaged: runs/ckpt/checkpoints/step-4/state.json: 'files' must be an object, got "none" (move runs/ckpt/checkpoints/step-4 aside to resume from the one before it, step-2)
set -e
sed -i '/^  "files": {/,/^  }/c\  "files": "none"' "$CKPT/state.json"
