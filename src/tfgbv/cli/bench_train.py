"""`make bench-train` / `python scripts/bench_train.py`: training samples/s of the default configuration in 1 vs N
processes (torchrun, DDP) and the per-step cost of the gradient all-reduce; writes docs/bench_train.{md,json}.

    python scripts/bench_train.py                          # 1 and 2 processes, 20 timed steps each
    python scripts/bench_train.py --steps 10 --processes 1 2 4 -- model=e5-small trainer.per_device_train_batch_size=16

Overrides after `--` are the training config's (configs/train.yaml; data=seed, the bundled corpus, by default).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir

from tfgbv.cli.config import CONFIG_DIR
from tfgbv.cli.errors import entry_point
from tfgbv.cli.run import data_sources, model_spec, train_spec
from tfgbv.data.sources import load_data
from tfgbv.io import write_text
from tfgbv.report.bench_train import TrainBenchSpec, launch, summarise, time_training, write_results
from tfgbv.train.distributed import finish, is_main_process


def _config(overrides: list[str]):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="train", overrides=["data=seed", *overrides])


@entry_point("tfgbv-bench-train")
def bench_train(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="tfgbv-bench-train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=TrainBenchSpec.steps, help="timed steps per configuration")
    ap.add_argument("--warmup", type=int, default=TrainBenchSpec.warmup_steps, help="untimed steps first")
    ap.add_argument("--processes", type=int, nargs="+", default=list(TrainBenchSpec.processes))
    ap.add_argument("--out-json", default=TrainBenchSpec.out_json)
    ap.add_argument("--out-md", default=TrainBenchSpec.out_md)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one torchrun process of one launch
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("overrides", nargs="*", help="training config overrides (after --)")
    args = ap.parse_args(argv)
    bench = TrainBenchSpec(args.steps, args.warmup, tuple(args.processes), out_json=args.out_json, out_md=args.out_md)
    cfg = _config(args.overrides)
    if args.worker:
        data = load_data(
            data_sources(cfg.data), cfg.get("max_train_samples"), cfg.get("max_eval_samples"), seed=cfg.seed
        )
        res = time_training(data, model_spec(cfg.model), train_spec(cfg.trainer), bench, cfg.seed, cfg.paths.cache_dir)
        if is_main_process():
            write_text(args.result, json.dumps(res))
        finish()
        return
    passed = ["--steps", str(bench.steps), "--warmup", str(bench.warmup_steps), "--", *args.overrides]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [launch(n, passed, Path(tmp) / f"result-{n}.json") for n in bench.processes]
    res = summarise(runs, bench, model_spec(cfg.model), args.overrides)
    write_results(res, Path(cfg.paths.root_dir), bench)
    for r in runs:
        print(
            f"{r['processes']} process(es): {r['samples_per_s']:.1f} samples/s ({r['speedup_vs_1_process']:.2f}x), "
            f"all-reduce {r['allreduce_ms']} ms/step"
        )
    print(f"written to {bench.out_md} and {bench.out_json}")


if __name__ == "__main__":
    bench_train()
