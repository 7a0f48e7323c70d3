"""How the intent model and the rules combine (the thresholds in intents/rules.py), chosen by
five-fold cross-validation on the training examples and the catalog's examples: never
on a held-out set.

    python benchmarks/model_cv.py        # needs scikit-learn (pip install -e ".[train]")

For each fold a model is trained on the other four and the rules read every message; prints intent
accuracy and the writes that would be saved unconfirmed on a misreading for the rules alone, the
model alone, the first thresholds, those in intents/rules.py, and the best of a grid.
"""
from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from intents.catalog import catalog  # noqa: E402
from intents.dialog import CONFIDENT  # noqa: E402
from intents.model import model_text, ngrams  # noqa: E402
from intents.reading import Reading  # noqa: E402
from intents.registry import PACKAGES, load_all  # noqa: E402
from intents.rules import (DOUBT, DOUBTED, MODEL_ONLY, MODEL_SURE, OVERRULE, QUESTION,  # noqa: E402
                           RULES_DOUBTED, WORDS, RuleRecognizer)
from bot.intent_training import NOW, C, examples, names_index  # noqa: E402

K = 5


def main() -> None:
    load_all(PACKAGES)
    index = names_index()
    pairs = examples()
    random.Random(1).shuffle(pairs)
    readings = [Reading.of(text, index, NOW) for text, _ in pairs]
    texts = [model_text(r) for r in readings]
    labels = [label for _, label in pairs]
    rules = RuleRecognizer(use_model=False)
    ruled = [rules.recognize(text, index=index, now=NOW) for text, _ in pairs]
    tables: list[dict] = [{} for _ in pairs]
    for k in range(K):
        train = [i for i in range(len(pairs)) if i % K != k]
        test = [i for i in range(len(pairs)) if i % K == k]
        vectorizer = TfidfVectorizer(analyzer=ngrams, sublinear_tf=True)
        x = vectorizer.fit_transform([texts[i] for i in train])
        clf = LogisticRegression(C=C, max_iter=3000).fit(x, [labels[i] for i in train])
        for i, row in zip(test, clf.predict_proba(vectorizer.transform([texts[i] for i in test]))):
            tables[i] = dict(zip(clf.classes_, row))
    specs = catalog()

    def run(sure: float, overrule: float, rules_doubted: float, doubt: float) -> tuple[float, int]:
        """intents.rules._decide with these thresholds, and the question guard."""
        right = wrong_writes = 0
        for i, label in enumerate(labels):
            name, confidence = ruled[i].name, ruled[i].confidence
            table = tables[i]
            if len(WORDS.findall(readings[i].masked)) >= 2:
                best = max(table, key=table.get)
                p = table[best]
                if best != name and name == "unknown":
                    if best != "unknown" and p >= sure:
                        name, confidence = best, min(p, MODEL_ONLY)
                elif best != name and p >= overrule and table.get(name, 0.0) < rules_doubted:
                    name, confidence = (best, min(p, MODEL_ONLY)) if best != "unknown" else ("unknown", 0.0)
                elif best != name and table.get(name, 0.0) < doubt:
                    confidence = min(confidence, DOUBTED)
            spec = specs.get(name)
            if spec is not None and spec.write and QUESTION.search(readings[i].norm):
                confidence = min(confidence, DOUBTED)
            right += name == label
            if name != label and spec is not None and spec.write and not spec.confirm and confidence >= CONFIDENT:
                wrong_writes += 1
        return round(right / len(labels), 4), wrong_writes

    model_alone = sum(max(t, key=t.get) == label for t, label in zip(tables, labels)) / len(labels)
    rules_alone = sum(r.name == label for r, label in zip(ruled, labels)) / len(labels)
    print(f"{len(pairs)} examples, {K} folds; (intent accuracy, writes saved unconfirmed on a misreading)")
    print(f"rules alone {rules_alone:.4f}; model alone {model_alone:.4f}")
    print("first thresholds (0.6, 0.85, 0.05, 0.15):", run(0.6, 0.85, 0.05, 0.15))
    print(f"intents/rules.py ({MODEL_SURE}, {OVERRULE}, {RULES_DOUBTED}, {DOUBT}):",
          run(MODEL_SURE, OVERRULE, RULES_DOUBTED, DOUBT))
    grid = itertools.product([0.2, 0.3, 0.4, 0.6], [0.35, 0.5, 0.7, 0.85], [0.05, 0.3, 0.5, 1.0], [0.15, 0.4])
    results = sorted(((*run(*point), point) for point in grid), key=lambda r: (-r[0], r[1]))
    print("best of the grid (accuracy, writes, (MODEL_SURE, OVERRULE, RULES_DOUBTED, DOUBT)):")
    for row in results[:5]:
        print("  ", row)


if __name__ == "__main__":
    main()
