"""Short, sourced answers to the questions host communities ask (``/facts``).

The facts live in a data file (``facts.json`` here, or ``FACTS_FILE``), read and
checked once when the bot is built; see :mod:`bot.facts.loader`.
"""

from bot.facts.loader import (
    DEFAULT_FACTS_FILE,
    Fact,
    FactBook,
    FactsError,
    FactText,
    Source,
    load_facts,
)

__all__ = [
    "DEFAULT_FACTS_FILE",
    "Fact",
    "FactBook",
    "FactText",
    "FactsError",
    "Source",
    "load_facts",
]
