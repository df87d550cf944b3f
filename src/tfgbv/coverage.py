"""Tokenizer coverage per language: unknown-token rate and tokens per word (written into every run)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any, Sequence

_WORD = re.compile(r"\w+", re.UNICODE)

# Letters missing from the multilingual-e5 vocabulary (they would become <unk>) and the keyboard fallbacks Tajik
# writers use for them; lower-case ӣ ӯ exist in the vocabulary as single characters. Chosen by measurement
# (see README, "Tajik tokenizer coverage").
E5_TAJIK_FALLBACK: dict[str, str] = {"ҷ": "ч", "Ҷ": "Ч", "Ӣ": "ӣ", "Ӯ": "ӯ"}


def tokenizer_coverage(tokenizer, texts: Sequence[str], langs: Sequence[str], top_unknown: int = 10) -> dict[str, Any]:
    """Per language and overall: texts, words, tokens, unk rate, share of texts with an unk, tokens per word, and the
    characters most often lost to <unk>."""
    unk_id = tokenizer.unk_token_id
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: {"texts": 0, "words": 0, "tokens": 0, "unk": 0, "texts_with_unk": 0,
                                                              "unknown_chars": Counter()})
    enc = tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True, return_attention_mask=False)
    for text, lang, ids, offsets in zip(texts, langs, enc["input_ids"], enc["offset_mapping"]):
        n_unk = 0
        for tid, (a, b) in zip(ids, offsets):
            if tid == unk_id:
                n_unk += 1
                for ch in text[a:b].strip():
                    for g in (lang, "all"):
                        groups[g]["unknown_chars"][ch] += 1
        words = len(_WORD.findall(text))
        for g in (lang, "all"):
            e = groups[g]
            e["texts"] += 1
            e["words"] += words
            e["tokens"] += len(ids)
            e["unk"] += n_unk
            e["texts_with_unk"] += int(n_unk > 0)
    out: dict[str, Any] = {"per_lang": {}}
    for g, e in sorted(groups.items()):
        row = {"texts": e["texts"], "words": e["words"], "tokens": e["tokens"], "unk_tokens": e["unk"],
               "unk_rate": e["unk"] / e["tokens"] if e["tokens"] else None,
               "texts_with_unk": e["texts_with_unk"] / e["texts"] if e["texts"] else None,
               "tokens_per_word": e["tokens"] / e["words"] if e["words"] else None,
               "top_unknown_chars": e["unknown_chars"].most_common(top_unknown)}
        if g == "all":
            out["overall"] = row
        else:
            out["per_lang"][g] = row
    return out


def coverage_markdown(report: dict[str, Any]) -> str:
    lines = ["| language | texts | unk rate | texts with unk | tokens/word | most frequent unknown characters |",
             "|---|---|---|---|---|---|"]
    rows = list(report.get("per_lang", {}).items()) + ([("all", report["overall"])] if "overall" in report else [])
    for lang, e in rows:
        chars = " ".join(f"{c} ({n})" for c, n in e["top_unknown_chars"]) or "—"
        lines.append(f"| {lang} | {e['texts']} | {e['unk_rate']:.4f} | {e['texts_with_unk']:.3f} | {e['tokens_per_word']:.2f} | {chars} |")
    return "\n".join(lines)


