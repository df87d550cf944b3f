"""Entry points of the scoring service (scripts/serve.py, `tfgbv-serve`) and its benchmark (scripts/bench_serve.py)."""

from __future__ import annotations

import json
import sys
from typing import Any

from omegaconf import DictConfig

from tfgbv.cli.config import to_spec
from tfgbv.cli.errors import hydra_entry_point
from tfgbv.cli.run import model_spec
from tfgbv.serve.bench import BenchServeSpec, run_serve_bench
from tfgbv.serve.ray_serve import serve_with_ray
from tfgbv.serve.server import serve_forever
from tfgbv.serve.spec import ServeError, ServeSpec

# keys of serve.yaml / bench_serve.yaml that belong to Hydra's composition rather than the specs
RUN_KEYS = ("task_name", "paths")


def serve_spec(cfg: DictConfig) -> ServeSpec:
    """ServeSpec from serve.yaml; an unknown key is an error naming it."""
    return to_spec(ServeSpec, cfg, "serve", ignore=RUN_KEYS)


@hydra_entry_point("tfgbv-serve", "serve")
def serve(cfg: DictConfig) -> None:
    """Serve a run until interrupted (Ctrl-C)."""
    try:
        spec = serve_spec(cfg)
        (serve_with_ray if spec.engine == "ray" else serve_forever)(spec)
    except ServeError as err:
        print(f"tfgbv-serve: {err}", file=sys.stderr)
        sys.exit(2)


@hydra_entry_point("tfgbv-bench-serve", "bench_serve")
def bench_serve(cfg: DictConfig) -> dict[str, Any]:
    """Served vs in-process scoring throughput and latency; writes docs/serve_bench.{md,json}."""
    spec = to_spec(BenchServeSpec, cfg, "bench_serve", ignore=(*RUN_KEYS, "model"))
    result = run_serve_bench(spec, root=cfg.paths.root_dir, model_spec=model_spec(cfg.model))
    print(json.dumps(result["summary"], indent=2))
    return result
