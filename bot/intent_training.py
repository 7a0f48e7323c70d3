"""Train the intent model (intents/model.py) from the labelled examples kept as data:

    python -m bot.intent_training

Sources: intents/training/*.yaml (`intent:` and `examples:`) and the examples of
intents/catalog.yaml. Not the evaluation sets: the dev set (tests/eval/dev*.yaml) stays a measure,
and an example that happens to be a message of a held-out set (heldout.yaml, heldout2.yaml: common
short phrases such as 帮助) is left out of training, so that no held-out message is learnt by heart
(the count is printed). Writes intents/model/intents.npz with the digest of the sources, which
tests/intents/test_model.py checks: a change to the data without retraining fails the suite.
Needs scikit-learn (the `train` extra); running the model does not. It lives in bot/ because it
reads the demo's names (bot.demo.names) to blank them as the CRM's names are blanked.
"""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import yaml

from bot.demo.names import ENGLISH_NAMES, GIVEN_FEMALE, GIVEN_MALE, INSTITUTIONS, SURNAMES
from intents.catalog import CATALOG_FILE, catalog
from intents.client_index import ClientIndex
from intents.model import MODEL_FILE, TRAINING, model_text, ngrams, training_digest
from intents.lexicon import normalise
from intents.reading import Reading

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "eval"
HELD_OUT = (EVAL / "heldout.yaml", EVAL / "heldout2.yaml")
NOW = datetime(2026, 11, 18, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
C = 8.0  # inverse regularisation of the logistic regression (chosen on the dev set by cross-validation)


def sources() -> list[Path]:
    return sorted(TRAINING.glob("*.yaml")) + [CATALOG_FILE]


def held_out_texts() -> set[str]:
    return {normalise(str(case["text"])) for path in HELD_OUT if path.is_file()
            for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]}


def names_index() -> ClientIndex:
    """Names the examples use (tests/eval/clients.yaml and the demo's), so that they are blanked in
    training as the CRM's names are when the bot reads a message."""
    index = ClientIndex()
    rows = yaml.safe_load((ROOT / "tests" / "eval" / "clients.yaml").read_text(encoding="utf-8"))["clients"]
    names = [row["name"] for row in rows] + list(ENGLISH_NAMES) + [name for name, _ in INSTITUTIONS]
    names += [surname + given for surname, _ in SURNAMES for given in GIVEN_MALE + GIVEN_FEMALE]
    for cid, name in enumerate(dict.fromkeys(names), start=1):
        index.add(cid, str(name), institution=len(str(name)) > 5)
    return index


def examples() -> list[tuple[str, str]]:
    known = set(catalog())
    pairs: list[tuple[str, str]] = []
    for path in sorted(TRAINING.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data["intent"] in known:
            pairs += [(str(text), data["intent"]) for text in data.get("examples") or []]
    for name, spec in catalog().items():
        pairs += [(text, name) for text in spec.examples]
    held_out = held_out_texts()
    return [(text, label) for text, label in pairs if normalise(text) not in held_out]


def main() -> int:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    index = names_index()
    pairs = examples()
    everything = sum(len(yaml.safe_load(p.read_text(encoding="utf-8")).get("examples") or [])
                     for p in TRAINING.glob("*.yaml")) + sum(len(s.examples) for s in catalog().values())
    texts = [model_text(Reading.of(text, index, NOW)) for text, _ in pairs]
    labels = [label for _, label in pairs]
    vectorizer = TfidfVectorizer(analyzer=ngrams, sublinear_tf=True, norm="l2", min_df=1)
    x = vectorizer.fit_transform(texts)
    clf = LogisticRegression(C=C, max_iter=3000)
    clf.fit(x, labels)
    vocab = np.array(vectorizer.get_feature_names_out().tolist())
    MODEL_FILE.parent.mkdir(exist_ok=True)
    np.savez_compressed(MODEL_FILE, labels=np.array(clf.classes_.tolist()), vocab=vocab,
                        idf=vectorizer.idf_.astype(np.float32), weights=clf.coef_.T.astype(np.float16),
                        bias=clf.intercept_.astype(np.float32), digest=np.array(training_digest(sources())))
    print(f"{everything - len(pairs)} examples left out: they are messages of a held-out set")
    print(f"trained on {len(pairs)} examples of {len(clf.classes_)} intents, {len(vocab)} n-grams; "
          f"wrote {MODEL_FILE.relative_to(ROOT)} ({MODEL_FILE.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
