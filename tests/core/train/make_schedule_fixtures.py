#!/usr/bin/env python3
# make_schedule_fixtures.py — writes schedule_fixtures.txt: the lr PyTorch's
# own lr_scheduler classes give at every optimizer step, for schedule_test.cpp
# to compare Plinth's schedules against. Run it with a Python that has torch:
#   python3 tests/core/train/make_schedule_fixtures.py > tests/core/train/schedule_fixtures.txt
# Line format: "<case> <step s, 1-based> <lr used by step s>" with 17 digits.
import math
import sys

import torch


def run(name, base_lr, make, steps, metrics=None):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make(opt)
    for s in range(1, steps + 1):
        lr = opt.param_groups[0]["lr"]  # the lr step s is applied with
        print(f"{name} {s} {lr:.17g}")
        opt.step()
        if metrics is None:
            sched.step()
        elif s - 1 < len(metrics):
            sched.step(metrics[s - 1])  # one evaluation after each step


lr_s = torch.optim.lr_scheduler
print("# torch " + torch.__version__)
run("step", 0.1, lambda o: lr_s.StepLR(o, step_size=3, gamma=0.5), 10)
run("cosine", 0.1, lambda o: lr_s.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 10)
run("linear", 0.1, lambda o: lr_s.LinearLR(o, start_factor=1.0, end_factor=0.01 / 0.1, total_iters=8), 10)
run("one_cycle", 0.01,
    lambda o: lr_s.OneCycleLR(o, max_lr=0.01, total_steps=20, pct_start=0.3, anneal_strategy="cos",
                              cycle_momentum=False, div_factor=25.0, final_div_factor=1e4), 20)
run("one_cycle_odd", 0.05,
    lambda o: lr_s.OneCycleLR(o, max_lr=0.05, total_steps=7, pct_start=0.25, anneal_strategy="cos",
                              cycle_momentum=False), 7)
plateau_metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.85, 0.8499, 0.8499, 0.8499, 0.8499, 0.8, 0.8, 0.8, 0.8, 0.8]
run("plateau", 0.1,
    lambda o: lr_s.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2, threshold=1e-3,
                                     threshold_mode="rel", min_lr=0.02),
    len(plateau_metrics) + 1, plateau_metrics)
