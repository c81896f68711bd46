#!/usr/bin/python3
"""The benchmark suite behind bench/run.sh: Plinth against PyTorch on the same
machine, threads and batch, the two alternated (A B A B ...) in every round,
reporting every run, the medians and the ratios.

Sections (SECTIONS, default all, in this order):
  micro    Google Benchmark (build/bench/cpu_matmul_bench): per-op launch
           overhead through the backend ABI against a direct call, GEMM
           GFLOP/s at the MLP's shapes and the machine's measured GEMM
           ceiling (f32 and bf16), elementwise GB/s; data loader samples/s
           (plinth-bench-step --loader-epochs) on the MNIST and char-GPT data.
  mlp      MLP 784-512-512-10 at batch 128 and 32, AdamW: Plinth fp32 and
           bf16 against PyTorch fp32 (and Plinth's model FLOPs utilisation
           against the ceiling measured in `micro`).
  gpt      The char-GPT step, fp32 and bf16 (PyTorch bf16: autocast), and the
           backend memory of a real char-GPT run against the need.
  mnist    Time to 95% on the MNIST example, from the command's launch to the
           evaluation that reached it, both stopping there; and Plinth's
           start-up to its first step.
  scale    GPT-2-style models a hundred times the char-GPT (bench/gpt-6x384.toml,
           T = 256, batch 8; bench/gpt-12x768.toml, 85 M parameters, T = 256,
           batch 4), fp32 and bf16, against the same model in PyTorch; model
           FLOPs utilisation against the GEMM ceiling measured in this run
           (the micro section's, or measured here when it did not run), and
           the backend's peak memory against the need. Not in the default
           SECTIONS (about 15 minutes on 2 cores): SECTIONS=scale.

Every figure is printed as it is measured; the last lines are a summary table.
PyTorch runs in its best configuration found on these machines (see
docs/PERFORMANCE.md and ../shared/PERF-BASELINES.md).
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("PLINTH_BUILD_DIR", "build"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
THREADS = int(os.environ.get("THREADS", "2"))
SECTIONS = os.environ.get("SECTIONS", "micro mlp gpt mnist").split()
TORCH_ENV = dict(os.environ, LD_PRELOAD="/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
                 LD_LIBRARY_PATH="/usr/lib/x86_64-linux-gnu/openblas-openmp", ATEN_CPU_CAPABILITY="avx512",
                 OMP_NUM_THREADS=str(THREADS))
TORCH_ENV.pop("OPENBLAS_CORETYPE", None)
PY = "/usr/bin/python3"
summary = []


def run_json(cmd, env=None, cwd=ROOT):
    out = subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def med(xs):
    return statistics.median(xs)


def runs(xs, fmt="{:.3f}"):
    return ", ".join(fmt.format(x) for x in xs)


def say(line):
    print(line, flush=True)


def note(name, value, target, met):
    summary.append((name, value, target, "met" if met else "NOT met"))


# --- micro -------------------------------------------------------------------
ceiling = {}


def micro():
    exe = os.path.join(BUILD, "bench", "cpu_matmul_bench")
    env = dict(os.environ, PLINTH_BENCH_THREADS=str(THREADS))
    r = subprocess.run([exe, "--benchmark_format=json", "--benchmark_min_time=0.3", "--benchmark_repetitions=3",
                        "--benchmark_report_aggregates_only=true",
                        "--benchmark_filter=small_binary|elementwise|ceiling|BM_matmul_dtype"],
                       env=env, check=True, stdout=subprocess.PIPE, text=True)
    bm = {b["name"]: b for b in json.loads(r.stdout)["benchmarks"] if b.get("aggregate_name") == "median"}

    def get(prefix):
        return [b for n, b in bm.items() if n.startswith(prefix)]

    abi = get("BM_launch_small_binary")[0]["cpu_time"]
    direct = get("BM_direct_small_binary")[0]["cpu_time"]
    say(f"launch overhead, 16-element ADD: through the ABI {abi:.1f} ns, direct call {direct:.1f} ns, "
        f"overhead {abi - direct:.1f} ns per op (CPU time, median of 3)")
    note("per-op launch overhead (CPU backend)", f"{abi - direct:.0f} ns", "< 100 ns", abi - direct < 100)
    for b in get("BM_elementwise"):
        kind = "GELU" if "gelu:1" in b["name"] else "ADD"
        say(f"elementwise {kind} on 4 Mi floats: {b['bytes_per_second'] / 1e9:.1f} GB/s")
    for dt, code in (("f32", "dtype:0"), ("bf16", "dtype:2")):
        best = max(b["GFLOP/s"] for b in get("BM_gemm_ceiling") if code in b["name"]) / 1e9
        ceiling[dt] = best
        say(f"GEMM ceiling {dt} (best of 1024^3, 2048^3, {THREADS} threads): {best:.0f} GFLOP/s")
    for b in get("BM_matmul_dtype"):
        say(f"  {b['name'].replace('BM_matmul_dtype/', '').replace('/real_time', '').replace('_median', '')}: "
            f"{b['GFLOP/s'] / 1e9:.0f} GFLOP/s")
    for pipeline in ("examples/mnist/pipeline.toml", "examples/char-gpt/pipeline.toml"):
        xs = [run_json([os.path.join(BUILD, "bench", "plinth-bench-step"), pipeline, "--loader-epochs", "3"])
              ["loader_samples_per_s"] for _ in range(3)]
        say(f"data loader, {pipeline}: {med(xs):,.0f} samples/s (runs {runs(xs, '{:,.0f}')})")


# --- mlp -----------------------------------------------------------------------
def mlp_flops(batch, sizes):
    # forward y = x W^T, backward dW = dy^T x and dx = dy W (no dx for the input)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return 2 * batch * (2 * sum(i * o for i, o in pairs) + sum(i * o for i, o in pairs[1:]))


def mlp():
    hidden = "512,512"
    for batch in (128, 32):
        a, b, c, cpu32 = [], [], [], []
        for _ in range(ROUNDS):
            common = ["--batch", str(batch), "--hidden", hidden, "--threads", str(THREADS)]
            r = run_json([os.path.join(BUILD, "bench", "plinth-bench-mlp"), *common, "--precision", "fp32"])
            a.append(r["ms_per_step"])
            cpu32.append(r["cpu_ms_per_step"])
            b.append(run_json([os.path.join(BUILD, "bench", "plinth-bench-mlp"), *common, "--precision", "bf16"])
                     ["ms_per_step"])
            c.append(run_json([PY, "bench/torch_mlp.py", *common], env=TORCH_ENV)["ms_per_step"])
        say(f"MLP 784-512-512-10 batch {batch}: plinth fp32 {med(a):.3f} ms/step [{runs(a)}], "
            f"plinth bf16 {med(b):.3f} [{runs(b)}], pytorch fp32 {med(c):.3f} [{runs(c)}]")
        say(f"  speedup fp32 x{med(c) / med(a):.2f}, plinth bf16 vs pytorch fp32 x{med(c) / med(b):.2f}")
        note(f"MLP fp32 batch {batch} vs PyTorch fp32", f"x{med(c) / med(a):.2f}", ">= 1.5x", med(c) / med(a) >= 1.5)
        if batch == 128:
            note("MLP bf16 batch 128 vs PyTorch fp32", f"x{med(c) / med(b):.2f}", ">= 2.5x", med(c) / med(b) >= 2.5)
            flops = mlp_flops(batch, [784, 512, 512, 10])
            achieved = flops / (med(a) * 1e-3) / 1e9
            if "f32" in ceiling:
                mfu = achieved / ceiling["f32"]
                say(f"  model FLOPs {flops / 1e6:.1f} MFLOP/step -> {achieved:.0f} GFLOP/s = {mfu * 100:.0f}% of the "
                    f"measured f32 GEMM ceiling ({ceiling['f32']:.0f} GFLOP/s)")
                note("MFU, fp32 MLP batch 128", f"{mfu * 100:.0f}%", ">= 60% of the GEMM ceiling", mfu >= 0.6)


# --- gpt -----------------------------------------------------------------------
def gpt_flops(B=12, T=64, C=128, L=4, H=4, V=65):
    # The char-GPT of examples/char-gpt: per token and layer the qkv, output,
    # MLP-in and MLP-out products, plus the tied head; causal attention's
    # QK^T and PV over the t+1 visible keys. Backward costs twice forward.
    dense = B * T * (L * (C * 3 * C + C * C + C * 4 * C + 4 * C * C) + C * V)
    attention = L * B * H * (T * (T + 1) // 2) * (C // H) * 2
    return 3 * 2 * (dense + attention)


def gpt():
    subprocess.run(["bash", "examples/char-gpt/prepare_data.sh"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    pipeline = "examples/char-gpt/pipeline.toml"
    for dtype in ("fp32", "bf16"):
        a, b = [], []
        for _ in range(ROUNDS):
            a.append(run_json([os.path.join(BUILD, "bench", "plinth-bench-step"), pipeline, "--threads",
                               str(THREADS), "--precision", dtype, "--steps", "30"])["ms_per_step"])
            b.append(run_json([PY, "bench/torch_char_gpt.py", "--mode", "time", "--threads", str(THREADS),
                               "--dtype", dtype], env=TORCH_ENV)["ms_per_step"])
        say(f"char-GPT {dtype} step (batch 12 x 64 tokens): plinth {med(a):.1f} ms [{runs(a, '{:.1f}')}], "
            f"pytorch {med(b):.1f} ms [{runs(b, '{:.1f}')}], speedup x{med(b) / med(a):.2f}")
        if dtype == "fp32":
            note("char-GPT fp32 vs PyTorch fp32", f"x{med(b) / med(a):.2f}", ">= 2x", med(b) / med(a) >= 2)
            flops = gpt_flops()
            say(f"  model FLOPs {flops / 1e9:.2f} GFLOP/step -> plinth {flops / (med(a) * 1e-3) / 1e9:.0f} GFLOP/s, "
                f"pytorch {flops / (med(b) * 1e-3) / 1e9:.0f} GFLOP/s" +
                (f"; at the f32 GEMM ceiling ({ceiling['f32']:.0f} GFLOP/s) the step would take "
                 f"{flops / ceiling['f32'] / 1e6:.1f} ms" if "f32" in ceiling else ""))
    # Memory of a real run: 20 steps and an evaluation (so the eval program
    # exists too), as `plinth train` runs it.
    work = tempfile.mkdtemp(prefix="plinth-bench-")
    try:
        text = open(os.path.join(ROOT, pipeline)).read().replace('path = "data/',
                                                                 f'path = "{ROOT}/examples/char-gpt/data/')
        p = os.path.join(work, "gpt.toml")
        open(p, "w").write(text)
        t = subprocess.run(["/usr/bin/time", "-f", "%M", os.path.join(BUILD, "bin", "plinth"), "train",
                            "--no-progress", "--threads", str(THREADS), "--stop-at-step", "20", "--out-dir", work, p],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        rss = int(t.stderr.strip().splitlines()[-1]) * 1024
        m = json.load(open(os.path.join(work, "char-gpt", "summary.json")))["memory_bytes"]
        ratio = m["backend_peak"] / m["need"]
        say(f"char-GPT run memory: backend peak {m['backend_peak'] / 1e6:.1f} MB against a need of "
            f"{m['need'] / 1e6:.1f} MB (parameters {m['parameters'] / 1e6:.1f}, gradients {m['gradients'] / 1e6:.1f}, "
            f"optimizer state {m['optimizer_state'] / 1e6:.1f}, peak live activations {m['activation_need'] / 1e6:.1f}; "
            f"arenas held {m['activation_arenas'] / 1e6:.1f}, other {m['other_persistent'] / 1e6:.1f}): x{ratio:.2f}; "
            f"process peak RSS {rss / 1e6:.0f} MB (libraries, code and loader included)")
        note("char-GPT backend memory / need", f"x{ratio:.2f}", "<= 1.3x", ratio <= 1.3)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- scale -----------------------------------------------------------------------
SCALE = (("bench/gpt-6x384.toml", dict(L=6, C=384, H=6, T=256, B=8), 3, 10),
         ("bench/gpt-12x768.toml", dict(L=12, C=768, H=12, T=256, B=4), 2, 5))


def measure_ceiling():
    exe = os.path.join(BUILD, "bench", "cpu_matmul_bench")
    env = dict(os.environ, PLINTH_BENCH_THREADS=str(THREADS))
    r = subprocess.run([exe, "--benchmark_format=json", "--benchmark_min_time=0.3", "--benchmark_repetitions=3",
                        "--benchmark_report_aggregates_only=true", "--benchmark_filter=ceiling"],
                       env=env, check=True, stdout=subprocess.PIPE, text=True)
    bm = [b for b in json.loads(r.stdout)["benchmarks"] if b.get("aggregate_name") == "median"]
    for dt, code in (("f32", "dtype:0"), ("bf16", "dtype:2")):
        ceiling[dt] = max(b["GFLOP/s"] for b in bm if code in b["name"]) / 1e9
        say(f"GEMM ceiling {dt} (best of 1024^3, 2048^3, {THREADS} threads): {ceiling[dt]:.0f} GFLOP/s")


def scale():
    subprocess.run(["bash", "examples/char-gpt/prepare_data.sh"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    if "f32" not in ceiling:
        measure_ceiling()
    for pipeline, m, warmup, steps in SCALE:
        L, C, H, T, B = m["L"], m["C"], m["H"], m["T"], m["B"]
        name = f"GPT {L}x{C}"
        flops = gpt_flops(B=B, T=T, C=C, L=L, H=H)
        for dtype, ceil in (("fp32", "f32"), ("bf16", "bf16")):
            a, b, mem, torch_rss = [], [], None, []
            for _ in range(ROUNDS):
                r = run_json([os.path.join(BUILD, "bench", "plinth-bench-step"), pipeline, "--threads", str(THREADS),
                              "--precision", dtype, "--warmup", str(warmup), "--steps", str(steps)])
                a.append(r["ms_per_step"])
                mem = r["memory_bytes"]
                t = run_json([PY, "bench/torch_char_gpt.py", "--mode", "time", "--threads", str(THREADS),
                              "--dtype", dtype, "--layers", str(L), "--heads", str(H), "--width", str(C),
                              "--block", str(T), "--batch", str(B), "--warmup", str(warmup), "--timed", str(steps)],
                             env=TORCH_ENV)
                b.append(t["ms_per_step"])
                torch_rss.append(t["process_peak_rss"])
            pm, tm = med(a), med(b)
            mfu = flops / (pm * 1e-3) / 1e9 / ceiling[ceil]
            tmfu = flops / (tm * 1e-3) / 1e9 / ceiling[ceil]
            say(f"{name} T={T} batch {B} {dtype}: plinth {pm:.0f} ms/step [{runs(a, '{:.0f}')}], pytorch {tm:.0f} "
                f"[{runs(b, '{:.0f}')}], speedup x{tm / pm:.2f}; {flops / 1e9:.0f} GFLOP/step -> plinth "
                f"{mfu * 100:.0f}%, pytorch {tmfu * 100:.0f}% of the {ceil} GEMM ceiling ({ceiling[ceil]:.0f} GFLOP/s)")
            say(f"  memory: plinth backend peak {mem['backend_peak'] / 1e9:.2f} GB against a need of "
                f"{mem['need'] / 1e9:.2f} GB (parameters {mem['parameters'] / 1e9:.2f}, gradients "
                f"{mem['gradients'] / 1e9:.2f}, optimizer state {mem['optimizer_state'] / 1e9:.2f}, activations "
                f"{mem['activation_need'] / 1e9:.2f}): x{mem['backend_peak'] / mem['need']:.2f}; process peak RSS "
                f"plinth {mem['process_peak_rss'] / 1e9:.2f} GB, pytorch {med(torch_rss) / 1e9:.2f} GB")
            target = 0.85 if dtype == "fp32" else 0.80
            note(f"{name} {dtype} MFU (x{tm / pm:.2f} vs PyTorch)", f"{mfu * 100:.0f}%",
                 f">= {target * 100:.0f}% of the {ceil} ceiling", mfu >= target)


# --- mnist -----------------------------------------------------------------------
def mnist():
    subprocess.run(["bash", "examples/mnist/prepare_data.sh"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="plinth-bench-")
    try:
        text = open(os.path.join(ROOT, "examples/mnist/pipeline.toml")).read()
        text = text.replace('"data/', f'"{ROOT}/examples/mnist/data/')
        text = re.sub(r"(\[train\]\n)", f"\\1stop_at_target = true\n", text)
        p = os.path.join(work, "mnist.toml")
        open(p, "w").write(text)
        pw, pi, tw, ti, first = [], [], [], [], []
        for i in range(ROUNDS):
            out = os.path.join(work, f"r{i}")
            t0 = time.perf_counter()
            subprocess.run([os.path.join(BUILD, "bin", "plinth"), "train", "--no-progress", "--threads", str(THREADS),
                            "--out-dir", out, p],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pw.append(time.perf_counter() - t0)
            s = json.load(open(os.path.join(out, "mnist-mlp", "summary.json")))
            if s.get("time_to_target_s") is None:
                raise SystemExit("plinth did not reach 95% on MNIST")
            pi.append(s["time_to_target_s"])
            first.append(s["first_step_s"])
            t0 = time.perf_counter()
            r = run_json([PY, "bench/torch_mnist.py", "--stop-at-target", "--threads", str(THREADS)], env=TORCH_ENV)
            tw.append(time.perf_counter() - t0)
            if r["time_to_target_s"] is None:
                raise SystemExit("pytorch did not reach 95% on MNIST")
            ti.append(r["time_to_target_s"])
        say(f"MNIST time to 95% (launch to the end of the process, which stops at the target): plinth {med(pw):.2f} s "
            f"[{runs(pw, '{:.2f}')}], pytorch {med(tw):.2f} s [{runs(tw, '{:.2f}')}], speedup x{med(tw) / med(pw):.2f}")
        say(f"  each side's own clock to the evaluation that reached it: plinth {med(pi):.2f} s, pytorch {med(ti):.2f} s "
            f"(x{med(ti) / med(pi):.2f})")
        note("MNIST time to 95% vs PyTorch", f"x{med(tw) / med(pw):.2f}", ">= 1.5x", med(tw) / med(pw) >= 1.5)
        say(f"plinth start-up to the end of the first step (summary first_step_s, MNIST): {med(first) * 1e3:.0f} ms "
            f"[{runs([x * 1e3 for x in first], '{:.0f}')}]")
        note("start-up to first step (MNIST)", f"{med(first) * 1e3:.0f} ms", "< 100 ms", med(first) < 0.1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    cpu = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*:\s*(.*)", cpu).group(1)
    say(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {model}, {os.cpu_count()} cores, threads={THREADS}, "
        f"rounds={ROUNDS}, load average {os.getloadavg()[0]:.1f}; pytorch env: jemalloc, openblas-openmp, avx512, "
        "OPENBLAS_CORETYPE unset")
    for s in SECTIONS:
        {"micro": micro, "mlp": mlp, "gpt": gpt, "mnist": mnist, "scale": scale}[s]()
    say(f"# summary (load average at the end {os.getloadavg()[0]:.1f})")
    for name, value, target, met in summary:
        say(f"  {name:45s} {value:>10s}   target {target:28s} {met}")


if __name__ == "__main__":
    sys.exit(main())
