"""Paths the tests share (the repository and the hand-made fixtures)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def assert_pipeline_and_batch_scoring_match(clf, model_dir: Path, texts: list[str], prepared: list[str], tmp_path):
    """Plain transformers `pipeline()` on `prepared` (the saved preparation's output) and batch scoring of `texts`
    give the probabilities `clf` gives for `texts`."""
    import json

    import numpy as np
    from transformers import pipeline

    from tfgbv.labels import LABELS
    from tfgbv.predict.files import ScoreSpec, score_files

    ours = clf.predict_proba(texts)
    pipe = pipeline("text-classification", model=str(model_dir), top_k=None, function_to_apply="sigmoid")
    theirs = np.array([[{d["label"]: d["score"] for d in row}[lab] for lab in LABELS] for row in pipe(prepared)])
    np.testing.assert_allclose(theirs, ours, atol=1e-4, rtol=0)

    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts))
    )
    score_files(clf, [str(src)], tmp_path / "out.jsonl", ScoreSpec())
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    np.testing.assert_allclose([[r[f"p_{lab}"] for lab in LABELS] for r in rows], ours, atol=1e-5, rtol=0)
