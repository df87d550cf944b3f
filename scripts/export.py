"""Export a run's model to ONNX and report agreement with PyTorch (Hydra entry point).
Example: python scripts/export.py model_dir=runs/latest"""

from tfgbv.cli.scoring import export

if __name__ == "__main__":
    export()
