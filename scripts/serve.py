"""Serve a run over HTTP: Perspective-compatible and native endpoints (Hydra entry point). Example:
python scripts/serve.py model_dir=runs/latest port=8080"""

from tfgbv.cli.serve import serve

if __name__ == "__main__":
    serve()
