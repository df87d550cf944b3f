"""Train and evaluate each configured (dataset, model) pair and write docs/benchmarks.{md,json} (Hydra entry point).

python scripts/benchmark.py
python scripts/benchmark.py 'only=[ru_2ch_pikabu]' bootstrap_resamples=200
"""

from tfgbv.cli.benchmark import benchmark

if __name__ == "__main__":
    benchmark()
