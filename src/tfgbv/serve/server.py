"""Running the app: on uvicorn in the foreground (`tfgbv-serve`), or in a background thread on a socket of its own
(tests and the serving benchmark talk to it over real HTTP)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from tfgbv.serve.app import Service, create_app
from tfgbv.serve.keys import load_keys
from tfgbv.serve.scoring import TextScorer
from tfgbv.serve.spec import ServeSpec

log = logging.getLogger("tfgbv.serve")


def uvicorn_config(app: FastAPI, spec: ServeSpec) -> uvicorn.Config:
    """uvicorn's access log stays off: it logs query strings, i.e. Perspective's key= (the app logs its own access
    lines without them). access_log=False alone is not enough where a handler is added to its logger later (pytest's
    log capture does), so its level is raised above the INFO it logs at as well."""
    config = uvicorn.Config(
        app, host=spec.host, port=spec.port, access_log=False, log_level=spec.log_level, lifespan="on", workers=1
    )
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    return config


def build_app(spec: ServeSpec) -> FastAPI:
    """The app with its model loaded now (a bad model_dir or key file fails here, before the port opens)."""
    load_keys(spec)
    service = Service(spec)
    return create_app(spec, service.load())


def serve_forever(spec: ServeSpec) -> None:
    app = build_app(spec)
    log.info("serving on http://%s:%d (docs at /docs)", spec.host, spec.port)
    uvicorn.Server(uvicorn_config(app, spec)).run()


class BackgroundServer:
    """`with BackgroundServer(spec, scorer) as url:` a real uvicorn server on a free port of `spec.host`."""

    def __init__(self, spec: ServeSpec, scorer: TextScorer | None = None, timeout_s: float = 60.0):
        self.spec, self.timeout_s = spec, timeout_s
        self.app = create_app(spec, scorer)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((spec.host, spec.port))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{spec.host}:{self.port}"
        self.server = uvicorn.Server(uvicorn_config(self.app, spec))
        self.server.install_signal_handlers = lambda: None  # a thread cannot take signals; older uvicorn asks
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()
