"""Logistic-regression heads on embeddings: fitted deterministically in numpy (Newton / IRLS)."""

from __future__ import annotations

import hashlib

import numpy as np


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0,
                 iters: int = 50) -> tuple[np.ndarray, float]:
    """Weights and bias of L2-regularized logistic regression, by Newton's method (IRLS).

    Minimizes the mean log-loss plus ``l2 / (2 n) * |w|^2`` (the bias is not penalized), in
    float64, from zero; stops when the step is below 1e-10 or after ``iters`` steps. No
    randomness: the same rows in the same order give the same head.
    """
    n, d = x.shape
    if n == 0 or len(np.unique(y)) < 2:
        raise ValueError("train_linear_head: the labels need both classes (some true, some "
                         "false)")
    a = np.hstack([x.astype(np.float64), np.ones((n, 1))])
    t = y.astype(np.float64)
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        grad = a.T @ (p - t) + reg * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w[:-1], float(w[-1])


def head_sha256(weights: np.ndarray, bias: float, base_sha256: str) -> str:
    """sha256 of a head: its float32 weights, its bias and the embedding model's sha256."""
    h = hashlib.sha256(np.asarray(weights, np.float32).tobytes())
    h.update(np.float64(bias).tobytes())
    h.update(base_sha256.encode())
    return h.hexdigest()
