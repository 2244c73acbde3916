"""Every error code the API can answer has words in the console (web/src/words.ts), so a
refusal is never shown to a person as a raw code. A new code without words fails here."""
import re
from pathlib import Path

from chalicelib.domain import errors

ROOT = Path(__file__).resolve().parents[2]
WORDS = (ROOT / "web" / "src" / "words.ts").read_text(encoding="utf-8")


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def domain_codes() -> set[str]:
    return {c.code for c in _subclasses(errors.DomainError) if c.code != errors.DomainError.code}


def worded_codes() -> set[str]:
    table = WORDS[WORDS.index("const CODES"):]
    table = table[:table.index("\n};")]
    return set(re.findall(r"^\s+([A-Z][A-Z_]+):", table, flags=re.M))


def test_the_codes_are_found():
    assert {"INVALID_TRANSITION", "PAYMENT_PENDING", "CONTRACT_SIGNED"} <= domain_codes()


def test_every_domain_error_code_has_words_in_the_console():
    assert sorted(domain_codes() - worded_codes()) == []
