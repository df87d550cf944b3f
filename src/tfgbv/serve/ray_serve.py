"""`engine=ray`: the same app on Ray Serve, `replicas` copies of the model behind Ray's HTTP proxy on host:port.

Each replica builds the app itself (`__serve_build_asgi_app__`), loads the model once and micro-batches its own
requests exactly as the local engine does; Ray spreads requests over the replicas, and a team that outgrows one
machine attaches to a cluster (`RAY_ADDRESS=ray://HOST:10001`) and raises `replicas`. Ray is imported lazily, so the
local engine never needs it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Any

from tfgbv.predict.precision import choose_bf16
from tfgbv.serve.app import create_app
from tfgbv.serve.keys import load_keys
from tfgbv.serve.spec import ServeSpec

log = logging.getLogger("tfgbv.serve")

APP_NAME = "tfgbv"


def replica_spec(spec: ServeSpec) -> ServeSpec:
    """Each replica's torch threads default to its CPUs, so replicas do not fight over the cores; bf16=auto is decided
    here, once (timed and cached per machine and thread count), rather than by every replica at the same time."""
    if spec.num_threads is None:
        spec = dataclasses.replace(spec, num_threads=max(1, int(spec.num_cpus_per_replica)))
    if spec.bf16 == "auto" and spec.backend == "torch":
        spec = dataclasses.replace(
            spec, bf16=choose_bf16(spec.model_dir, num_threads=spec.num_threads, batch_tokens=spec.batch_tokens)
        )
    return spec


def ray_app(spec: ServeSpec):
    """The bound Ray Serve application (a deployment of `spec.replicas` replicas)."""
    from ray import serve

    class TfgbvService:
        def __init__(self, fields: dict[str, Any]):
            self.spec = ServeSpec(**fields)

        def __serve_build_asgi_app__(self):
            return create_app(self.spec)

    deployment = serve.deployment(
        serve.ingress()(TfgbvService),
        name="TfgbvService",
        num_replicas=spec.replicas,
        ray_actor_options={"num_cpus": spec.num_cpus_per_replica},
    )
    return deployment.bind(dataclasses.asdict(replica_spec(spec)))


def start_ray(spec: ServeSpec, address: str | None = None) -> str:
    """Start (or attach to) Ray, deploy the app and wait until every replica is ready; returns the service URL."""
    import ray
    from ray import serve

    load_keys(spec)  # refuse a public bind without keys before starting anything
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        ray.init(
            address=address,
            num_cpus=None if address else max(2, int(spec.replicas * spec.num_cpus_per_replica) + 1),
            include_dashboard=False,
            ignore_reinit_error=True,
            logging_level=logging.WARNING,
        )
    serve.start(http_options={"host": spec.host, "port": spec.port})
    serve.run(ray_app(spec), name=APP_NAME, route_prefix="/", blocking=False)
    return f"http://{spec.host}:{spec.port}"


def stop_ray() -> None:
    import ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()


def serve_with_ray(spec: ServeSpec) -> None:
    """Serve on Ray until interrupted (Ctrl-C)."""
    url = start_ray(spec)
    log.info("serving %d replica(s) on %s (Ray Serve)", spec.replicas, url)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop_ray()
