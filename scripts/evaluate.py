"""Evaluate a run on any data config (Hydra entry point). Example: python scripts/evaluate.py run_dir=runs/latest"""

from tfgbv.cli.run import evaluate

if __name__ == "__main__":
    evaluate()
