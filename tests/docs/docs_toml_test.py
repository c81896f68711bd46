#!/usr/bin/python3
"""docs_toml_test.py PLINTH SOURCE_DIR MANIFESTS — every TOML block the docs
show is checked against the code, so the docs cannot drift from it:

- a block whose first line names an example file ("# examples/mnist/
  pipeline.toml") must be, after that line, that file byte for byte;
- a pipeline block, whole or a fragment ([train], [[model.block]], ...), is
  put into a base pipeline (examples/mnist/pipeline.toml, with the tables
  the fragment defines taken out of it) and must pass `plinth resolve`
  (the strict parse: unknown keys, types, ranges, the model's expansion);
- a plugin manifest block ([[plugin]]) must read without a manifest error;
- sdk/README.md's statements of the ABI version ("(1.2 today)",
  `Plinth_ABI_VERSION` (`"1.2"`)) and of the release (`0.1.0`) must be
  what `plinth --version` of this build says.

The check that merges a fragment is itself checked first: a fragment with
an unknown key must be refused through the same path, or nothing here
could fail.

Blocks of another kind make the test fail until this script knows them.
Exit 0 when all pass; otherwise one line per failing block, naming the
document and line, and exit 1.
"""
import os
import re
import subprocess
import sys
import tempfile

plinth, src, manifests = (os.path.abspath(a) for a in sys.argv[1:4])
DOCS = ["README.md", "sdk/README.md", "docs", "examples"]
PIPELINE_TABLES = {"run", "backend", "data", "model", "init", "loss", "optimizer", "schedule", "train",
                   "checkpoint", "early_stop", "distributed", "plugins"}
HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")


def docs():
    for d in DOCS:
        p = os.path.join(src, d)
        if os.path.isfile(p):
            yield d
        for root, _, files in os.walk(p) if os.path.isdir(p) else ():
            for f in sorted(files):
                if f.endswith(".md"):
                    yield os.path.relpath(os.path.join(root, f), src)


def blocks(rel):
    text = open(os.path.join(src, rel), encoding="utf-8").read()
    for m in re.finditer(r"^```toml\n(.*?)^```", text, re.S | re.M):
        yield text[:m.start()].count("\n") + 2, m.group(1)  # the line of the block's first line


def sections(text):
    """[(header name or None for the preamble, lines)] in order."""
    out = [(None, [])]
    for line in text.splitlines(keepends=True):
        m = HEADER.match(line)
        if m:
            out.append((m.group(1), [line]))
        else:
            out[-1][1].append(line)
    return out


def merged(fragment, base_text):
    """The base pipeline with what the fragment defines replaced by it."""
    names = {n for n, _ in sections(fragment) if n}
    tops = {n.split(".")[0] for n in names}
    drop_model = any(n in ("model", "model.layer") for n in names)
    drop_data = any(n.startswith("data.train") or n.startswith("data.eval") for n in names)

    def dropped(n):
        if n is None:
            return False
        if n in names:
            return True
        if drop_model and n.split(".")[0] == "model":
            return True
        if drop_data and n.split(".")[0] == "data":
            return True
        # a fragment's [train.x] replaces only that subtable; its [train] the whole table
        return n.split(".")[0] in tops and n.split(".")[0] in names and "." not in n
    kept = "".join("".join(lines) for n, lines in sections(base_text) if not dropped(n))
    return kept + "\n" + fragment


def run(args, cwd):
    r = subprocess.run([plinth, "--no-system-plugins", "--no-install-plugins", "--plugin-path", manifests, *args],
                       cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    return r.returncode, r.stdout


def main():
    failures, checked = [], 0
    base_path = os.path.join(src, "examples", "mnist", "pipeline.toml")
    base_text = open(base_path, encoding="utf-8").read()
    # The base's data paths are relative to its folder: made absolute, so the
    # merged file can live in a temporary folder.
    base_text = base_text.replace('"data/', '"' + os.path.join(src, "examples", "mnist", "data") + "/")
    work = tempfile.mkdtemp(prefix="plinth-docs-")
    probe = os.path.join(work, "probe.toml")
    open(probe, "w").write(merged("[train]\nbatch_sise = 1\n", base_text))
    rc, out = run(["resolve", probe], work)
    if rc == 0 or "batch_sise" not in out:
        print("FAIL the merge check cannot fail: a fragment with an unknown key passed `plinth resolve`")
        return 1
    # sdk/README.md against this build's versions.
    rc, out = run(["--version"], work)
    m = re.search(r"plinth (\S+) \(ABI (\d+\.\d+)\)", out)
    if not m:
        print(f"FAIL `plinth --version` printed {out!r}")
        return 1
    release, abi = m.groups()
    readme = open(os.path.join(src, "sdk", "README.md"), encoding="utf-8").read()
    for pattern, want, what in ((r"\((\d+\.\d+) today\)", abi, "the ABI version"),
                                (r"`Plinth_ABI_VERSION` \(`\"([^\"]*)\"`\)", abi, "Plinth_ABI_VERSION"),
                                (r"the Plinth release \(`([^`]*)`\)", release, "the release")):
        found = re.findall(pattern, readme)
        if not found:
            failures.append(f"sdk/README.md: no statement of {what} found (pattern {pattern})")
        for got in found:
            if got != want:
                failures.append(f"sdk/README.md: {what} is given as {got}, this build's is {want}")
    for rel in docs():
        for line, block in blocks(rel):
            where = f"{rel}:{line}"
            checked += 1
            first = block.splitlines()[0] if block.strip() else ""
            claim = re.fullmatch(r"#\s*(examples/\S+\.toml)", first)
            names = {n for n, _ in sections(block) if n}
            tops = {n.split(".")[0] for n in names}
            if claim:
                path = os.path.join(src, claim.group(1))
                if not os.path.isfile(path):
                    failures.append(f"{where}: names {claim.group(1)}, which does not exist")
                elif open(path, encoding="utf-8").read() != block.split("\n", 1)[1]:
                    failures.append(f"{where}: differs from {claim.group(1)} (after its first line the block "
                                    "must be the file, byte for byte)")
                continue
            if tops == {"plugin"}:
                d = os.path.join(work, f"m{checked}")
                os.makedirs(d)
                open(os.path.join(d, "doc.toml"), "w").write(block)
                rc, out = run(["--plugin-path", d, "plugins", "list"], work)
                bad = [l for l in out.splitlines() if "plugin manifest" in l and "doc.toml" in l]
                if bad:
                    failures.append(f"{where}: the manifest does not read: {bad[0]}")
                continue
            if tops and tops <= PIPELINE_TABLES:
                p = os.path.join(work, f"b{checked}.toml")
                open(p, "w").write(merged(block, base_text))
                rc, out = run(["resolve", p], work)
                if rc != 0:
                    failures.append(f"{where}: `plinth resolve` refuses it: " +
                                    " | ".join(l for l in out.strip().splitlines() if l)[:400])
                continue
            if tops == {"retrain"}:
                continue  # checked by tests/retrain (docs/retrain.md's block is its config file's documented form)
            failures.append(f"{where}: a TOML block of a kind this test does not know (tables {sorted(names)})")
    for f in failures:
        print("FAIL " + f)
    print(f"{checked} TOML blocks checked, {len(failures)} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
