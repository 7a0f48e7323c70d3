"""placeholder: filled in by its own change."""
from bot.cli import app  # noqa: F401
