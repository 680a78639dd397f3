"""corpusql's MinHash signatures as datasketch objects, for users who already keep datasketch
indexes (``MinHashLSH``, ``MinHashLSHForest``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_datasketch(signature: Sequence[int], *, seed: int = 1, scheme: str = "affine32"):
    """A datasketch ``LeanMinHash`` holding ``signature`` (a ``minhash_signature`` value).

    ``seed`` and ``scheme`` must be the ones the signature was made with (the defaults are
    ``minhash_signature``'s); ``num_perm`` is the signature's length. The permutations are
    datasketch's for that seed and scheme, but the shingles and their hash are corpusql's
    (``minhash_signature``'s normalization, units and 64-bit shingle hash), not datasketch's
    ``update(bytes)`` with SHA-1: so these objects compare correctly with each other and with
    other signatures corpusql made, never with MinHash objects datasketch built from text.
    """
    from datasketch import LeanMinHash

    if signature is None:
        raise ValueError("to_datasketch: the signature is NULL (the text was NULL or empty)")
    values = np.asarray(signature, dtype=np.uint64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"to_datasketch: expected a list of hash values, got shape {values.shape}")
    return LeanMinHash(seed=seed, hashvalues=values, scheme=scheme)
