#!/usr/bin/python3
"""The coordinator alone against Optuna with SQLite storage, on no-op trials.

deepreduce: build/bench/coordinator_bench (no-op trials dispatched to 1, 8 and 64
workers over loopback TCP; every lease and result durable in RocksDB).
Optuna (Debian python3-optuna): study.optimize with an objective that returns at
once, RDB storage on a SQLite file: each trial is created, run and told through the
database, as Optuna's distributed mode works.

Usage: /usr/bin/python3 bench/coordinator_vs_optuna.py [--build build] [--trials 5000] [--optuna-trials 500]
"""
import argparse
import logging
import os
import subprocess
import tempfile
import time

import optuna


def optuna_rate(n):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as d:
        storage = f"sqlite:///{os.path.join(d, 'optuna.db')}"
        study = optuna.create_study(storage=storage, study_name="noop")
        t0 = time.perf_counter()
        study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=n)
        return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--trials", type=int, default=5000)
    ap.add_argument("--optuna-trials", type=int, default=500)
    args = ap.parse_args()
    out = subprocess.run([os.path.join(args.build, "bench", "coordinator_bench"), "--trials", str(args.trials)],
                         check=True, capture_output=True, text=True).stdout
    rows = [l for l in out.splitlines() if l.startswith("| deepreduce")]
    rate = optuna_rate(args.optuna_trials)
    print(out.splitlines()[0])
    print(f"Optuna {optuna.__version__}: {args.optuna_trials} trials, SQLite storage, objective returns at once\n")
    print("| system | workers | lifecycles/s | vs Optuna-SQLite |\n|---|---|---|---|")
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        print(f"| {cells[0]} | {cells[1]} | {cells[2]} | {float(cells[2]) / rate:.0f}x |")
    print(f"| Optuna + SQLite | 1 (in process) | {rate:.0f} | 1x |")


if __name__ == "__main__":
    main()
