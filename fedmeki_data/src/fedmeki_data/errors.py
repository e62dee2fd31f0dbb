"""Typed exceptions of FedMEKI: the CLI turns each into one line, a hint and an exit code."""

from __future__ import annotations


class FedmekiError(Exception):
    """Base class of every error FedMEKI raises on purpose.

    Parameters
    ----------
    message : str
        What is wrong, in one line.
    hint : str, default=""
        How to fix it, in one line.
    """

    #: Exit code of the CLI: 1 for a runtime failure, 2 for bad input from the user.
    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(FedmekiError):
    """The user asked for something that cannot be done as asked (bad option, bad path)."""

    exit_code = 2


class UnknownTaskError(UsageError, KeyError):
    """A task id that is not in the registry."""


class InvalidParameterError(UsageError, ValueError):
    """An option value outside its allowed range, e.g. ``alpha <= 0``."""


class PartitionError(UsageError, ValueError):
    """A partition that cannot be made from the data, e.g. more clients than samples."""


class OutputExistsError(UsageError, FileExistsError):
    """The output folder exists and the caller did not allow replacing it."""


class DatasetNotFoundError(UsageError, FileNotFoundError):
    """A dataset folder or Hub repository that cannot be read."""


class DatasetIntegrityError(FedmekiError):
    """A dataset folder whose files do not match its manifest."""


class PublishRefusedError(UsageError):
    """A push that would publish credentialed data openly."""
