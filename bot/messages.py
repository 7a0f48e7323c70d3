"""Every sentence a person reads comes from messages.yaml (zh and en), through here."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm_core import config_files

LANGS = ("zh", "en")


@dataclass(frozen=True)
class Messages:
    table: dict[str, dict[str, str]]

    @classmethod
    def load(cls, override_dir: Path | None) -> "Messages":
        data = config_files.load("messages.yaml", override_dir)
        where = data.pop("__file__")
        table = {}
        for key, texts in data.items():
            if not isinstance(texts, dict) or "zh" not in texts:
                raise config_files.ConfigFileError(f"{where}: message {key!r} needs at least a zh text")
            table[key] = {lang: str(text) for lang, text in texts.items()}
        if override_dir is not None and where != str(config_files.default_dir() / "messages.yaml"):
            # An override may change some texts; the rest come from the defaults.
            base = cls.load(None).table
            table = {**base, **table}
        return cls(table)

    def t(self, key: str, lang: str = "zh", **values) -> str:
        texts = self.table.get(key)
        if texts is None:
            raise KeyError(f"no message {key!r} in messages.yaml")
        template = texts.get(lang) or texts["zh"]
        return template.format(**values)
