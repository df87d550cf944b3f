"""Served vs in-process scoring throughput and latency; writes docs/serve_bench.{md,json} (Hydra entry point).
Example: python scripts/bench_serve.py model_dir=runs/latest"""

from tfgbv.cli.serve import bench_serve

if __name__ == "__main__":
    bench_serve()
