#!/usr/bin/python3
"""PyTorch's batch norm (training forward with the running statistics, and
backward) on the CPU at the shapes of plinth-bench-batchnorm
(bench/cpu_batchnorm_bench.cpp), printed the same way:
    /usr/bin/python3 bench/torch_batchnorm.py [THREADS]
"""
import json
import sys
import time

import torch

F = torch.nn.functional


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(threads)
    for name, dims in (("image", (128, 64, 32, 32)), ("features", (512, 1024))):
        C = dims[1]
        x = torch.randn(*dims, requires_grad=True)
        g = torch.randn(C, requires_grad=True)
        b = torch.randn(C, requires_grad=True)
        rm, rv = torch.zeros(C), torch.ones(C)
        dy = torch.randn(*dims)
        fwd, bwd = [], []
        for it in range(31):
            t0 = time.perf_counter()
            y = F.batch_norm(x, rm, rv, g, b, training=True, momentum=0.1, eps=1e-5)
            t1 = time.perf_counter()
            y.backward(dy)
            t2 = time.perf_counter()
            x.grad = g.grad = b.grad = None
            if it:
                fwd.append((t1 - t0) * 1e6)
                bwd.append((t2 - t1) * 1e6)
        fwd.sort()
        bwd.sort()
        print(json.dumps({"shape": name, "threads": threads, "fwd_min_us": round(fwd[0]),
                          "fwd_median_us": round(fwd[len(fwd) // 2]), "bwd_min_us": round(bwd[0]),
                          "bwd_median_us": round(bwd[len(bwd) // 2])}))


if __name__ == "__main__":
    main()
