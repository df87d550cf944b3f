"""Inference, training-step and Ray speed benchmark; writes docs/bench.{md,json} (Hydra entry point).
Example: python scripts/bench.py        (see configs/bench.yaml for sizes)"""

from tfgbv.cli.bench import bench

if __name__ == "__main__":
    bench()
