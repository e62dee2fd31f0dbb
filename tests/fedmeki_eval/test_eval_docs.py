"""The scoring docs name every validation rule the reader enforces, and nothing else."""

import re
from pathlib import Path

from fedmeki_eval.submission import RULES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "evaluation.md"


def test_every_rule_is_documented():
    text = DOCS.read_text()
    section = text[text.index("The rules:"):text.index("Usage errors")]
    assert set(re.findall(r"`([a-z]+(?:-[a-z]+)*)`", section)) == set(RULES)
