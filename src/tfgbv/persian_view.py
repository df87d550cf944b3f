"""The Persian view of Tajik: Tajik words (Cyrillic) rewritten in Persian (Perso-Arabic) script for the encoder.

Why: multilingual-e5 was pretrained on Persian in Perso-Arabic script and never on Tajik Cyrillic, which it reads as
broken Russian (2.75 tokens per word against 1.62 in Persian script on the bundled Tajik rows). Tajik and Persian are
one language in two scripts, so rewriting Tajik words in Persian script lets the encoder use what it learned from
Persian, and lets real Persian abuse data (Pars-OFF, PHATE) teach the classifier about Tajik.

Three parts, all deterministic and offline:
- `CharSeq2Seq`: a small character-level transformer (word in, word out), trained by `tfgbv.train.persian_translit` on
  Tajik-Persian word pairs, literary spellings and the keyboard spellings most people type (ҷ→ч, ҳ→х, қ→к, ғ→г, ӯ→у,
  ӣ→и), so both read the same;
- `WordLanguage`: a character n-gram naive Bayes that tells Tajik words from Russian ones, helped by the words around
  them: in a code-switched comment only the Tajik words are rewritten;
- `PersianView`: routing + keyboard restoration (a word typed without Tajik letters, e.g. "хама", is first given back
  the letters of the Tajik word that spelling most often stands for in real Tajik text, "ҳама": the keyboard loses
  information the character model can only guess) + a word cache (word frequencies follow Zipf's law, so nearly every
  word after the first few thousand comments is a cache hit) + batched greedy decoding of the misses.

Saved as one folder (`rundir.PERSIAN_VIEW_DIR` inside a model directory): safetensors weights and a JSON config, never a
pickle.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from tfgbv import rundir
from tfgbv.io import atomic_path, write_json
from tfgbv.text import keyboard_spelling

TAJIK_ONLY = frozenset("ҷҳқғӯӣ")
RUSSIAN_ONLY = frozenset("цщыь")
SPECIALS = ["<unk>", "<pad>", "<bos>", "<eos>"]
UNK, PAD, BOS, EOS = 0, 1, 2, 3
SCORE_CACHE = 200_000  # words whose language score is kept
MAX_WORD = 32  # longer "words" (URL pieces, keyboard mashing) are left as written

# A Cyrillic word, hyphenated compounds included ("бад-он"); everything else (Latin, digits, emoji, <PHONE>) is kept.
_WORD = re.compile(r"[а-яёғқҳҷӣӯ]+(?:-[а-яёғқҳҷӣӯ]+)*", re.IGNORECASE)
# Kept as written even when they contain Cyrillic: URLs, e-mails, @handles, hashtags, <PLACEHOLDERS> of mask_pii.
_KEEP = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+|[@#]\w+|<[A-Z_]+>")
_SENTENCE_END = re.compile(r"[.!?…]\s*$")


# ----------------------------------------------------------------------------- the character transliterator


@dataclass
class Seq2SeqConfig:
    source_vocab: list[str]  # index -> character; the first four are SPECIALS
    target_vocab: list[str]
    d_model: int = 64
    heads: int = 8
    layers: int = 3
    feedforward: int = 64
    max_len: int = MAX_WORD + 8


def _sinusoids(length: int, dim: int) -> torch.Tensor:
    den = torch.exp(-torch.arange(0, dim, 2) * math.log(10000) / dim)
    pos = torch.arange(length)[:, None]
    table = torch.zeros(length, dim)
    table[:, 0::2], table[:, 1::2] = torch.sin(pos * den), torch.cos(pos * den)
    return table


class CharSeq2Seq(nn.Module):
    """Encoder-decoder transformer over characters: a Tajik word (Cyrillic) -> its Persian spelling.

    The architecture of the `tg2fa-translit` model (PyPI), so its weights load as a starting point
    (`tfgbv.train.persian_translit.from_tg2fa`)."""

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        self.src_emb = nn.Embedding(len(config.source_vocab), d)
        self.tgt_emb = nn.Embedding(len(config.target_vocab), d)
        self.register_buffer("positions", _sinusoids(config.max_len + 2, d), persistent=False)
        self.transformer = nn.Transformer(
            d, config.heads, config.layers, config.layers, config.feedforward, dropout=0.01, batch_first=True
        )
        # Nested tensors (a prototype API, with a warning) only pay for long padded batches; ours are short words.
        self.transformer.encoder.enable_nested_tensor = self.transformer.encoder.use_nested_tensor = False
        self.out = nn.Linear(d, len(config.target_vocab))
        self._src_index = {c: i for i, c in enumerate(config.source_vocab) if i >= len(SPECIALS)}
        self._tgt_index = {c: i for i, c in enumerate(config.target_vocab) if i >= len(SPECIALS)}

    def _embed(self, emb: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        return emb(ids) * math.sqrt(self.config.d_model) + self.positions[: ids.shape[1]]

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        return self.transformer.encoder(self._embed(self.src_emb, src), src_key_padding_mask=src == PAD)

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.shape[1], device=tgt_in.device) == float("-inf")
        hidden = self.transformer.decoder(
            self._embed(self.tgt_emb, tgt_in),
            memory,
            tgt_mask=causal,
            tgt_key_padding_mask=tgt_in == PAD,
            memory_key_padding_mask=src == PAD,
        )
        return self.out(hidden)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode(tgt_in, self.encode(src), src)

    # -- ids

    def source_ids(self, words: Sequence[str]) -> torch.Tensor:
        """BOS word EOS, padded (the tg2fa model was trained with both markers on the source)."""
        return _pad([[BOS, *(self._src_index.get(c, UNK) for c in w), EOS] for w in words])

    def target_ids(self, words: Sequence[str]) -> torch.Tensor:
        """BOS word EOS, padded."""
        return _pad([[BOS, *(self._tgt_index.get(c, UNK) for c in w), EOS] for w in words])

    @torch.no_grad()
    def greedy(self, words: Sequence[str]) -> list[str]:
        """Greedy decoding of a batch of lower-case words (deterministic)."""
        src = self.source_ids(words)
        memory = self.encode(src)
        out = torch.full((len(words), 1), BOS, dtype=torch.long)
        done = torch.zeros(len(words), dtype=torch.bool)
        for _ in range(min(src.shape[1] + 8, self.config.max_len)):
            step = self.decode(out, memory, src)[:, -1].argmax(-1)
            step = torch.where(done, torch.full_like(step, PAD), step)
            out = torch.cat([out, step[:, None]], dim=1)
            done |= step == EOS
            if bool(done.all()):
                break
        vocab = self.config.target_vocab
        return ["".join(vocab[i] for i in row[1:].tolist() if i >= len(SPECIALS)) for row in out]


def _pad(rows: list[list[int]]) -> torch.Tensor:
    ids = torch.full((len(rows), max(len(r) for r in rows)), PAD, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return ids


# ----------------------------------------------------------------------------- which words are Tajik


def _ngrams(word: str, n_max: int = 3) -> Iterable[str]:
    padded = f"^{word}$"
    for n in range(1, n_max + 1):
        for i in range(len(padded) - n + 1):
            yield padded[i : i + n]


@dataclass
class WordLanguage:
    """Character 1-3-gram naive Bayes over lower-case keyboard-spelled words: log P(w | Tajik) - log P(w | Russian).

    Words are scored in keyboard spelling (Tajik letters folded), so the model learns what is left once the letters that
    give Tajik away are gone; those letters (and Russian-only ц щ ы ь) decide on their own in `is_tajik`."""

    tajik: dict[str, float]  # n-gram -> log probability
    russian: dict[str, float]
    tajik_unseen: float
    russian_unseen: float

    @classmethod
    def fit(cls, tajik_words: Iterable[str], russian_words: Iterable[str], min_count: int = 2) -> WordLanguage:
        def table(words: Iterable[str]) -> tuple[dict[str, float], float]:
            counts: dict[str, int] = {}
            for w in words:
                for g in _ngrams(keyboard_spelling(w.lower())):
                    counts[g] = counts.get(g, 0) + 1
            kept = {g: c for g, c in counts.items() if c >= min_count}
            total = sum(kept.values()) + len(kept) + 1
            return {g: math.log((c + 1) / total) for g, c in kept.items()}, math.log(1 / total)

        (tg, tg_unseen), (ru, ru_unseen) = table(tajik_words), table(russian_words)
        return cls(tg, ru, tg_unseen, ru_unseen)

    def score(self, word: str) -> float:
        """Log-likelihood ratio, Tajik over Russian, averaged per n-gram (so long words are not over-confident).
        Cached per word (off the dataclass fields, so never saved): word frequencies follow Zipf's law."""
        cache = self.__dict__.setdefault("_scores", {})
        hit = cache.get(word)
        if hit is None:
            grams = list(_ngrams(keyboard_spelling(word.lower())))
            llr = sum(self.tajik.get(g, self.tajik_unseen) - self.russian.get(g, self.russian_unseen) for g in grams)
            hit = llr / max(1, len(grams))
            if len(cache) < SCORE_CACHE:  # unbounded input (random strings) must not grow memory for ever
                cache[word] = hit
        return hit

    def is_tajik(self, words: Sequence[str], context_weight: float = 0.5) -> list[bool]:
        """Per word of one comment: letters only Tajik (or only Russian) has decide; otherwise the word's own score
        plus `context_weight` times the comment's mean score (a short word takes the language of its neighbours)."""
        scores = []
        for w in words:
            low = set(w.lower())
            scores.append(5.0 if low & TAJIK_ONLY else -5.0 if low & RUSSIAN_ONLY else self.score(w))
        context = sum(scores) / len(scores) if scores else 0.0
        return [s + context_weight * context > 0 for s in scores]

    def to_json(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------- the view


class PersianView:
    """Rewrite the Tajik words of comments in Persian script; everything else stays as written."""

    def __init__(
        self,
        model: CharSeq2Seq,
        language: WordLanguage,
        *,
        restore: dict[str, str] | None = None,
        batch_size: int = 512,
        cache_size: int = 500_000,
    ):
        self.model = model.eval()
        self.language = language
        # keyboard spelling -> the Tajik word it most often stands for (persian_translit.keyboard_restorations)
        self.restore: dict[str, str] = dict(restore or {})
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: dict[str, str] = {}
        self.evaluation: dict | None = None  # held-out accuracy written by training (rundir.PERSIAN_VIEW_EVAL)

    # -- saving and loading (safetensors + JSON, never a pickle)

    def save(self, out_dir: str | Path) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(out_dir / rundir.PERSIAN_VIEW_WEIGHTS) as tmp:
            save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(tmp))
        write_json(
            out_dir / rundir.PERSIAN_VIEW_CONFIG,
            {
                "seq2seq": asdict(self.model.config),
                "language": self.language.to_json(),
                "keyboard_restore": dict(sorted(self.restore.items())),
            },
        )
        if self.evaluation is not None:
            write_json(out_dir / rundir.PERSIAN_VIEW_EVAL, self.evaluation)
        return out_dir

    @classmethod
    def load(cls, path: str | Path) -> PersianView:
        path = Path(path)
        config_file, weights = path / rundir.PERSIAN_VIEW_CONFIG, path / rundir.PERSIAN_VIEW_WEIGHTS
        if not config_file.exists() or not weights.exists():
            raise FileNotFoundError(
                f"{path}: the Persian view needs {rundir.PERSIAN_VIEW_CONFIG} and {rundir.PERSIAN_VIEW_WEIGHTS}; "
                "the run was saved without its transliterator"
            )
        raw = json.loads(config_file.read_text(encoding="utf-8"))
        model = CharSeq2Seq(Seq2SeqConfig(**raw["seq2seq"]))
        model.load_state_dict(load_file(str(weights)))
        view = cls(model, WordLanguage(**raw["language"]), restore=raw.get("keyboard_restore"))
        if (path / rundir.PERSIAN_VIEW_EVAL).is_file():
            view.evaluation = json.loads((path / rundir.PERSIAN_VIEW_EVAL).read_text(encoding="utf-8"))
        return view

    # -- words

    def words(self, words: Sequence[str]) -> list[str]:
        """Persian spellings of lower-case Tajik words, keyboard spellings restored first (cached; misses decoded
        together, shortest first)."""
        missing = sorted({w for w in words if w not in self._cache}, key=len)
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start : start + self.batch_size]
            for word, persian in zip(batch, self.model.greedy([self.restore.get(w, w) for w in batch])):
                self._cache[word] = persian or word
        out = [self._cache[w] for w in words]
        if len(self._cache) > self.cache_size:  # unbounded input (random strings) must not grow memory for ever
            self._cache.clear()
        return out

    # -- comments

    def texts(self, texts: Sequence[str]) -> list[str]:
        """Each comment with its Tajik words in Persian script; Russian words, names, numbers, URLs, emoji and masked
        PII as written. Deterministic; batching only changes speed."""
        spans = [tajik_spans(self.language, t) for t in texts]
        persian = iter(self.words([w for row in spans for _, _, w in row]))
        out = []
        for text, row in zip(texts, spans):
            pieces, last = [], 0
            for start, end, _ in row:
                pieces += [text[last:start], next(persian)]
                last = end
            out.append("".join(pieces) + text[last:])
        return out

    def __call__(self, text: str) -> str:
        return self.texts([text])[0]


def tajik_spans(language: WordLanguage, text: str) -> list[tuple[int, int, str]]:
    """(start, end, lower-case word) of each Tajik word of one comment: Russian words (by `language`, helped by the
    words around them), names, URLs, handles, masked PII and over-long strings are left out."""
    kept = [m.span() for m in _KEEP.finditer(text)]
    spans = [m for m in _WORD.finditer(text) if not any(a <= m.start() < b for a, b in kept)]
    if not spans:
        return []
    tajik = language.is_tajik([m.group(0) for m in spans])
    out = []
    for m, is_tg in zip(spans, tajik):
        word = m.group(0)
        if not is_tg or len(word) > MAX_WORD or _looks_like_name(text, m.start(), word):
            continue
        out.append((m.start(), m.end(), word.lower()))
    return out


def _looks_like_name(text: str, start: int, word: str) -> bool:
    """A capitalised word that does not start a sentence (Мадина, Рустам): kept as written."""
    if not (word[:1].isupper() and word[1:].islower()) or start == 0:
        return False
    before = text[:start].rstrip(' \t"«(')
    return bool(before) and not _SENTENCE_END.search(before) and not before.endswith("\n")
