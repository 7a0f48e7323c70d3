"""The statistical half of recognition (issue 13): a linear model over character n-grams of the
message, trained from labelled examples kept as data (intents/training/*.yaml, the catalog's
examples) by `python -m bot.intent_training`, which writes
intents/model/intents.npz. Rasa's pipelines do the same (character n-gram counts and a linear
classifier); ours reads the message as the rules do (intents/reading.py: names of known clients
blanked, so a client's name never decides an intent), with digit runs folded to one symbol.

Inference is numpy only (scikit-learn is needed only to train): the n-grams found in the
vocabulary pick rows of the weight matrix, a sum and a softmax give a probability per intent.
"""
from __future__ import annotations

import hashlib
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from intents.reading import BLANK, Reading

HERE = Path(__file__).resolve().parent
MODEL_FILE = HERE / "model" / "intents.npz"
TRAINING = HERE / "training"
NGRAMS = (1, 3)
CLIENT = "Ⓝ"  # a client mention, however long its name
DIGITS = re.compile(r"\d+(?:\.\d+)?")
RUNS = re.compile(f"{BLANK}+")


def model_text(r: Reading) -> str:
    """What the model sees: the normalised message, clients blanked to one symbol (known ones, and
    where none is known the name the sentence's shape gives, so that a name the asker may not see
    reads as any unknown name does), numbers to one digit (an amount or an account number is a
    shape, not a word)."""
    masked = r.masked
    if r.known is None:
        guessed = r.guess()
        if guessed is not None and 0 <= guessed.start < guessed.end <= len(masked):
            masked = masked[:guessed.start] + BLANK * (guessed.end - guessed.start) + masked[guessed.end:]
    return DIGITS.sub("0", RUNS.sub(CLIENT, masked))


def ngrams(text: str) -> list[str]:
    padded = f" {text} "
    lo, hi = NGRAMS
    return [padded[i:i + n] for n in range(lo, hi + 1) for i in range(len(padded) - n + 1)]


def training_digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


class IntentModel:
    def __init__(self, labels: list[str], vocab: dict[str, int], idf: np.ndarray, weights: np.ndarray,
                 bias: np.ndarray, digest: str):
        self.labels, self.vocab, self.idf = labels, vocab, idf
        self.weights, self.bias, self.digest = weights, bias, digest

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "IntentModel":
        data = np.load(path, allow_pickle=False)
        vocab = {gram: i for i, gram in enumerate(data["vocab"].tolist())}
        return cls(data["labels"].tolist(), vocab, data["idf"].astype(np.float32),
                   data["weights"].astype(np.float32), data["bias"].astype(np.float32), str(data["digest"]))

    def probabilities(self, text: str) -> dict[str, float]:
        counts: dict[int, int] = {}
        for gram in ngrams(text):
            i = self.vocab.get(gram)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        scores = self.bias.copy()
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float32, count=len(counts))
            values = tf * self.idf[idx]
            values /= float(np.sqrt(values @ values)) or 1.0
            scores += values @ self.weights[idx]
        scores -= scores.max()
        exp = np.exp(scores)
        exp /= exp.sum()
        return dict(zip(self.labels, exp.tolist()))

    def predict(self, r: Reading) -> tuple[str, float, dict[str, float]]:
        table = self.probabilities(model_text(r))
        best = max(table, key=table.get)
        return best, table[best], table


@lru_cache(maxsize=1)
def model() -> IntentModel | None:
    """The shipped model, or None when it has not been trained (the rules then work alone)."""
    return IntentModel.load() if MODEL_FILE.is_file() else None
