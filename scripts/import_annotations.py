"""Turn a Label Studio JSON export into annotated JSONL + agreement report (Hydra entry point). Example:
python scripts/import_annotations.py export=export.json selection=batches/tg-01/selection.jsonl output=tg.jsonl"""

from tfgbv.cli.annotate import import_annotations

if __name__ == "__main__":
    import_annotations()
