#!/usr/bin/env python3
"""st_rewrite.py FILE EDIT... - rewrite the header of a safetensors file for
the checkpoint cases (run_corpus.sh runs only the *.sh cases; this is their
helper). Edits, applied in order:
  offsets:NAME:BEGIN:END  set tensor NAME's data_offsets
  grow:N                  append N zero bytes to the data section
  rename:OLD:NEW          rename key OLD in the header text (NEW may exist:
                          the header then names a tensor twice)
"""
import json
import struct
import sys

path, edits = sys.argv[1], sys.argv[2:]
with open(path, "rb") as f:
    raw = f.read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8 : 8 + n])
data = raw[8 + n :]
renames = []
for e in edits:
    op, *args = e.split(":")
    if op == "offsets":
        header[args[0]]["data_offsets"] = [int(args[1]), int(args[2])]
    elif op == "grow":
        data += bytes(int(args[0]))
    elif op == "rename":
        renames.append(args)
    else:
        sys.exit("st_rewrite.py: unknown edit " + e)
text = json.dumps(header)
for old, new in renames:
    text = text.replace(json.dumps(old) + ":", json.dumps(new) + ":", 1)
text = text.encode()
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
