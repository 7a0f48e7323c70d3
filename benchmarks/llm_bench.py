"""The LLM path, measured (issue 13 item 7): the evaluation sets through the recogniser as the
service runs it with BROKERBOT_LLM_* set (rules and model first; the LLM asked only for unknown or
low-confidence readings), against an OpenAI-compatible endpoint.

    python benchmarks/llm_bench.py                      # replay benchmarks/llm_recordings.jsonl
    python benchmarks/llm_bench.py --oracle             # an LLM that always knows the labelled intent
    python benchmarks/llm_bench.py --record             # ask the endpoint of BROKERBOT_LLM_* and record

Replay: a fake OpenAI server (tests/fakes/openai_server.py) answers each message with the tool
call recorded for it; a message without a recording is answered without a tool call (the rules'
reading stands). --record points the same run at a real endpoint (BROKERBOT_LLM_BASE_URL,
BROKERBOT_LLM_MODEL, BROKERBOT_LLM_API_KEY) and writes what it answered to the recordings file, so
later runs replay it offline. --oracle is an upper bound, not a measurement of any model: the
fake answers with the set's own label, showing how much the routing lets an LLM change at best.

Prints per set: messages, how many were sent to the LLM, how many answers the LLM changed (and of
those how many from wrong to right and from right to wrong), intent accuracy without and with it.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bot.app import App  # noqa: E402
from bot.settings import Settings  # noqa: E402
from intents.client_index import ClientIndex  # noqa: E402
from intents.llm import LLMRecognizer  # noqa: E402
from intents.mentions import refresh  # noqa: E402
from intents.recognize import Recognizer  # noqa: E402
from intents.registry import PACKAGES, load_all  # noqa: E402
from intents.rules import RuleRecognizer  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI, text_answer, tool_call  # noqa: E402
from tests.intents.test_eval import SETS, load_cases, load_clients  # noqa: E402

RECORDINGS = HERE / "llm_recordings.jsonl"


class Counting(LLMRecognizer):
    """The service's LLM recogniser, counting the messages it is asked about."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: list[str] = []

    def propose(self, text, *, now, keep=frozenset()):
        self.asked.append(text)
        return super().propose(text, now=now, keep=keep)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--oracle", action="store_true")
    mode.add_argument("--record", action="store_true")
    args = parser.parse_args()
    load_all(PACKAGES)
    logging.getLogger("brokerbot").setLevel(logging.ERROR)  # "answered without a tool call" per message
    recorded = {}
    if RECORDINGS.is_file():
        for line in RECORDINGS.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                recorded[row["text"]] = row
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        app = App(Settings(database_url=f"sqlite:///{Path(tmp) / 'eval.db'}", secret_key="brokerbot-bench-key-0123456789",
                           data_dir=tmp, timezone="Asia/Shanghai")).ready()
        with app.db.session() as session:
            load_clients(session)
            index = refresh(ClientIndex(), session)
        app.close()
        if args.record:
            base, model, key = (os.environ.get(k) for k in ("BROKERBOT_LLM_BASE_URL", "BROKERBOT_LLM_MODEL",
                                                             "BROKERBOT_LLM_API_KEY"))
            if not (base and model):
                print("--record needs BROKERBOT_LLM_BASE_URL and BROKERBOT_LLM_MODEL")
                return 2
        else:
            base, model, key = fake.base_url, "recorded", fake.api_key
        print(f"mode: {'record' if args.record else 'oracle (upper bound)' if args.oracle else 'replay'}; "
              f"{len(recorded)} recorded answers")
        new_recordings = []
        for name in SETS:
            cases = load_cases(name)
            rules = RuleRecognizer()
            if not args.record:
                fake.scripted.clear()
                for case in sorted(cases, key=lambda c: -len(c["text"])):  # the longest text matches first
                    if args.oracle:
                        fake.answer(case["text"], tool_call(case["intent"], case["slots"]))
                    elif case["text"] in recorded:
                        row = recorded[case["text"]]
                        fake.answer(case["text"], tool_call(row["tool"], row["arguments"]) if row.get("tool")
                                    else text_answer(row.get("content") or ""))
            llm = Counting(base_url=base, api_key=key or "none", model=model, timeout=10.0 if args.record else 3.0)
            both = Recognizer(rules=rules, llm=llm)
            without = right_without = right_with = changed = fixed = broke = 0
            for case in cases:
                alone = rules.recognize(case["text"], index=index, now=case["now"])
                got = both.recognize(case["text"], index=index, now=case["now"])
                without += 1
                right_without += alone.name == case["intent"]
                right_with += got.name == case["intent"]
                if got.name != alone.name:
                    changed += 1
                    fixed += got.name == case["intent"]
                    broke += alone.name == case["intent"]
                if args.record and llm.asked and llm.asked[-1] == case["text"]:
                    new_recordings.append({"text": case["text"], "tool": got.name if got.source == "llm" else None,
                                           "arguments": got.slots if got.source == "llm" else {}})
            print(f"{name:8} {without:4} messages; sent to the LLM {len(llm.asked):4}; answers changed {changed:3} "
                  f"(wrong->right {fixed}, right->wrong {broke}); intent accuracy {right_without / without:6.1%} "
                  f"-> {right_with / without:6.1%}")
        if args.record:
            RECORDINGS.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in new_recordings),
                                  encoding="utf-8")
            print(f"recorded {len(new_recordings)} answers in {RECORDINGS.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
