"""Score comment dumps with a trained run (Hydra entry point). Example:
python scripts/predict.py model_dir=runs/latest input=comments.csv output=scores.parquet"""

from tfgbv.cli.scoring import predict

if __name__ == "__main__":
    predict()
