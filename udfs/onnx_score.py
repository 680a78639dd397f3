"""Score text with an ONNX model through onnxruntime: one number per row.

Two kinds of model are supported:

* **string input**: the model takes the raw text as a ``tensor(string)`` (for example a
  scikit-learn pipeline exported with skl2onnx, like the bundled quality model);
* **token ids**: the model takes ``input_ids`` (and ``attention_mask``, ``token_type_ids`` when
  it declares them) as integer tensors; the text is encoded with a HF ``tokenizers`` file
  (``tokenizer := 'path/tokenizer.json'``, or ``tokenizer.json`` beside the model by default),
  truncated to ``max_length`` tokens and right-padded with 0 to the longest row of the batch.

Inference sessions are cached per model file (real path, size and modification time), created
once under a lock; onnxruntime's ``run`` is thread-safe, so DuckDB's threads share a session.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

import numpy as np
import pyarrow as pa

from . import paths
from .errors import FunctionArgumentError

#: Names accepted by ``model :=`` for the models shipped in ``corpusql/udfs/data``.
BUNDLED = {"quality": "quality.onnx"}

_LOCK = threading.Lock()
_SESSIONS: dict[tuple, _Model] = {}
_SHA: dict[tuple, str] = {}
_IDS_NAMES = ("input_ids",)
_INT_TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}
_FLOAT_TYPES = ("tensor(float)", "tensor(double)", "tensor(float16)")


class ModelError(FunctionArgumentError):
    """A model file is missing, malformed or not usable by onnx_score."""


def resolve(model: str) -> str:
    """Filesystem path of ``model``: a bundled model name ('quality') or a file path."""
    if model in BUNDLED:
        return paths.bundled_file(BUNDLED[model])
    return os.path.realpath(os.path.expanduser(model))


def _stat_key(path: str, function: str, what: str = "model") -> tuple:
    paths.check(path, function, what)  # a role connection's allowed paths (udfs/paths.py)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ModelError(f"{function}: {what} file {path!r} does not exist") from None
    except OSError as exc:
        raise ModelError(f"{function}: {what} file {path!r} cannot be read: {exc}") from None
    if not os.path.isfile(path):
        raise ModelError(f"{function}: {what} {path!r} is not a file; pass the file's path")
    return (path, st.st_size, st.st_mtime_ns)


def model_sha256(path: str) -> str:
    """sha256 (hex) of a model file (a path or a bundled model name), cached per path+mtime.

    Materialization manifests record it for every ``model := '...'`` a query uses.
    """
    key = _stat_key(resolve(path), "model_sha256")
    digest = _SHA.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(key[0], "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digest = _SHA[key] = h.hexdigest()
    return digest


class _Model:
    """An inference session and what onnx_score needs to know about its inputs and outputs."""

    def __init__(self, path: str, function: str) -> None:
        import onnxruntime as ort

        self.path = path
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(path, sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises several types
            raise ModelError(f"{function}: model file {path!r} is not a usable ONNX model: "
                             f"{str(exc).strip()}") from None
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self.outputs = {o.name: o for o in self.session.get_outputs()}
        self._tokenizers: dict[tuple, Any] = {}

    def text_input(self, name: str, function: str) -> tuple[str, str]:
        """('string', input name) or ('ids', input name) for the input the text goes to."""
        if name != "auto":
            if name not in self.inputs:
                raise ModelError(f"{function}: model {self.path!r} has no input {name!r}; "
                                 f"its inputs are {sorted(self.inputs)}")
            kind = "string" if self.inputs[name].type == "tensor(string)" else "ids"
            return kind, name
        strings = [n for n, i in self.inputs.items() if i.type == "tensor(string)"]
        if len(strings) == 1 and len(self.inputs) == 1:
            return "string", strings[0]
        for n in _IDS_NAMES:
            if n in self.inputs:
                return "ids", n
        raise ModelError(
            f"{function}: cannot tell which input of {self.path!r} takes the text: it needs one "
            f"tensor(string) input or an 'input_ids' input; its inputs are "
            f"{[(n, i.type) for n, i in self.inputs.items()]}; pass input := 'name'")

    def output_name(self, name: str, function: str) -> str:
        if name != "auto":
            if name not in self.outputs:
                raise ModelError(f"{function}: model {self.path!r} has no output {name!r}; "
                                 f"its outputs are {sorted(self.outputs)}")
            return name
        for n, o in self.outputs.items():
            if o.type in _FLOAT_TYPES or o.type.startswith("seq(map("):
                return n
        raise ModelError(f"{function}: model {self.path!r} has no float output; its outputs are "
                         f"{[(n, o.type) for n, o in self.outputs.items()]}")

    def tokenizer(self, spec: str, max_length: int, function: str):
        if spec == "auto":
            spec = os.path.join(os.path.dirname(self.path), "tokenizer.json")
            if not os.path.isfile(spec):
                raise ModelError(
                    f"{function}: model {self.path!r} takes token ids but there is no "
                    f"tokenizer.json beside it; pass tokenizer := 'path/to/tokenizer.json'")
        key = _stat_key(os.path.realpath(spec), function, "tokenizer") + (max_length,)
        tok = self._tokenizers.get(key)
        if tok is None:
            from tokenizers import Tokenizer

            try:
                tok = Tokenizer.from_file(key[0])
            except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exception
                raise ModelError(f"{function}: tokenizer file {key[0]!r} is not a valid "
                                 f"tokenizer.json: {exc}") from None
            tok.no_padding()
            tok.enable_truncation(max_length)
            self._tokenizers[key] = tok
        return tok


def _session(model: str, function: str) -> _Model:
    key = _stat_key(resolve(model), function)
    m = _SESSIONS.get(key)
    if m is None:
        with _LOCK:
            m = _SESSIONS.get(key)
            if m is None:
                m = _Model(key[0], function)
                for old in [k for k in _SESSIONS if k[0] == key[0]]:
                    del _SESSIONS[old]  # the file changed: drop the stale session
                _SESSIONS[key] = m
    return m


def _to_scalar(value: Any, n: int, path: str, output: str, function: str) -> np.ndarray:
    """One number per row from a model output (see onnx_score's docstring for the rule)."""
    if isinstance(value, list):  # ZipMap: a list of {class: probability}
        if len(value) != n:
            raise ModelError(f"{function}: output {output!r} of {path!r} has {len(value)} rows "
                             f"for {n} inputs")
        keys = sorted(value[0]) if value else []
        pos = 1 if 1 in keys else (keys[-1] if keys else None)
        return np.array([row[pos] for row in value], dtype=np.float64)
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise ModelError(f"{function}: output {output!r} of {path!r} holds {arr.dtype} values; "
                         "onnx_score needs one number per row: pass output := 'name' of a "
                         "numeric output")
    arr = arr.astype(np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 1 and arr.shape[0] == n:
        return arr
    if arr.ndim == 2 and arr.shape == (n, 2):
        rows_are_probs = (np.all((arr >= 0) & (arr <= 1))
                          and np.allclose(arr.sum(axis=1), 1.0, atol=1e-3))
        if not rows_are_probs:  # logits: softmax
            z = arr - arr.max(axis=1, keepdims=True)
            arr = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return arr[:, 1]
    raise ModelError(f"{function}: output {output!r} of {path!r} has shape {arr.shape} for {n} "
                     "inputs; onnx_score needs one number per row ([n], [n, 1]) or two classes "
                     "([n, 2]); pass output := 'name' to pick another output")


def run(model: str, texts: list[str], *, input: str = "auto", output: str = "auto",
        tokenizer: str = "auto", max_length: int = 256, batch_size: int = 256,
        function: str = "onnx_score") -> np.ndarray:
    """Scores of ``texts`` (a list of str) as float64; the engine-free core of onnx_score."""
    m = _session(model, function)
    kind, in_name = m.text_input(input, function)
    out_name = m.output_name(output, function)
    result = np.empty(len(texts), dtype=np.float64)
    tok = m.tokenizer(tokenizer, max_length, function) if kind == "ids" else None
    for lo in range(0, len(texts), batch_size):
        chunk = texts[lo:lo + batch_size]
        if kind == "string":
            feed = np.array(chunk, dtype=object)
            if len(m.inputs[in_name].shape or []) == 2:
                feed = feed.reshape(-1, 1)
            feeds = {in_name: feed}
        else:
            feeds = _id_feeds(m, tok, chunk, in_name)
        try:
            (value,) = m.session.run([out_name], feeds)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises several types
            raise ModelError(f"{function}: running {m.path!r} failed: {str(exc).strip()}") from None
        result[lo:lo + len(chunk)] = _to_scalar(value, len(chunk), m.path, out_name, function)
    return result


def _id_feeds(m: _Model, tok, chunk: list[str], in_name: str) -> dict[str, np.ndarray]:
    encs = tok.encode_batch(chunk)
    width = max(1, max((len(e.ids) for e in encs), default=1))
    ids = np.zeros((len(chunk), width), dtype=np.int64)
    mask = np.zeros((len(chunk), width), dtype=np.int64)
    types = np.zeros((len(chunk), width), dtype=np.int64)
    for i, e in enumerate(encs):
        k = len(e.ids)
        ids[i, :k] = e.ids
        mask[i, :k] = 1
        types[i, :k] = e.type_ids
    feeds = {in_name: ids}
    if "attention_mask" in m.inputs:
        feeds["attention_mask"] = mask
    if "token_type_ids" in m.inputs:
        feeds["token_type_ids"] = types
    missing = set(m.inputs) - set(feeds)
    if missing:
        raise ModelError(f"onnx_score: model {m.path!r} also needs inputs {sorted(missing)}, "
                         "which onnx_score does not know how to fill")
    return {name: value.astype(_INT_TYPES.get(m.inputs[name].type, np.int64))
            for name, value in feeds.items()}


def onnx_score(text: pa.Array, *, model: str = "quality", input: str = "auto",
               output: str = "auto", tokenizer: str = "auto", max_length: int = 256,
               batch_size: int = 256) -> pa.Array:
    """Score each text with an ONNX model: the positive-class probability or the scalar output.

    ``model`` is the path of an .onnx file or the name of a bundled model ('quality', the
    default). The text goes to the model's only ``tensor(string)`` input, or, for models with
    an ``input_ids`` input, is tokenized with ``tokenizer`` (a tokenizer.json path; 'auto' =
    the tokenizer.json beside the model), truncated to ``max_length`` tokens and padded with an
    ``attention_mask`` (``input`` names the input explicitly). The output used is ``output``, or
    the first float (or ZipMap) output; it is reduced to one number per row: an [n] or [n, 1]
    output as is; [n, 2] gives column 1 (the positive class), passed through a softmax first
    when the rows are not already probabilities; a ZipMap gives class 1's probability. Rows go
    to the model ``batch_size`` at a time. Sessions are cached per model file path, size and
    mtime. A missing or malformed model fails the query with the path and the reason. NULL
    gives NULL.
    """
    values = text.to_pylist()
    scores = run(model, values, input=input, output=output, tokenizer=tokenizer,
                 max_length=max_length, batch_size=batch_size)
    return pa.array(scores, pa.float64())


def quality_score(text: pa.Array) -> pa.Array:
    """Probability (0 to 1) that a text is clean prose, from the bundled quality model.

    The same kernel as ``onnx_score(text, model := 'quality')``: TF-IDF over word 1-2-grams
    (case kept, 4,096 features, sublinear tf) + logistic regression, trained by
    scripts/train_quality.py and shipped as corpusql/udfs/data/quality.onnx. Labels: positive =
    pieces (80 to 3,000 characters) of edited prose from the Debian handbook and reference,
    Python and Perl docs, GNU info and the Jargon File; negative = such pieces degraded (words
    shuffled, lines repeated, navigation boilerplate, code-like noise, keyword spam, lines cut
    to fragments). Held-out accuracy at 0.5 (documents never trained on): 87.1% of 7,303
    pieces; clean 90.3%, boilerplate and code noise 100%, spam 97.6%, fragments 86.5%, shuffled
    words 75.1%, repeated lines 44.9% (a bag of n-grams barely sees repetition: use a
    repetition filter for that). It measures how much a text reads like edited documentation
    prose (everyday prose on other topics scores lower), not truth or usefulness. NULL gives
    NULL.
    """
    return onnx_score(text, model="quality")
