"""Errors of the scorer: an invalid submission names the file, the line and the rule it breaks."""

from __future__ import annotations

from fedmeki_data.errors import FedmekiError


class InvalidSubmissionError(FedmekiError):
    """A submission that breaks a rule of the submission contract (exit code 1).

    Parameters
    ----------
    rule : str
        Short kebab-case id of the broken rule (``duplicate-id``, ``score-range``, ...).
    message : str
        What is wrong, in one line.
    file : str or None
        The offending file, relative to the submission folder.
    line : int or None
        1-based line number in ``file``.
    hint : str
        How to fix it.

    Examples
    --------
    >>> str(InvalidSubmissionError("duplicate-id", "duplicate id 'x-1'", file="covid19.jsonl", line=17))
    "covid19.jsonl:17: duplicate id 'x-1' [duplicate-id]"
    """

    exit_code = 1

    def __init__(self, rule: str, message: str, *, file: str | None = None, line: int | None = None,
                 hint: str = "") -> None:
        location = ":".join(str(part) for part in (file, line) if part is not None)
        super().__init__(f"{location + ': ' if location else ''}{message} [{rule}]", hint=hint)
        self.rule, self.file, self.line = rule, file, line
