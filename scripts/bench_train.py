"""Training throughput in 1 vs 2 processes (torchrun, DDP); writes docs/bench_train.{md,json}.
Example: python scripts/bench_train.py --steps 20"""

from tfgbv.cli.bench_train import bench_train

if __name__ == "__main__":
    bench_train()
