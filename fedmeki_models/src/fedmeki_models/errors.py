"""Typed exceptions of ``fedmeki_models``, under the shared :class:`fedmeki_data.errors.FedmekiError`."""

from __future__ import annotations

from collections.abc import Mapping

from fedmeki_data.errors import FedmekiError, UsageError


class ModelConfigError(UsageError, ValueError):
    """A model or training configuration that cannot be built: unknown preset, task or architecture, bad size."""


def check_settings(config: object, kind: str, checks: Mapping[str, bool], *, hint: str) -> None:
    """Raise :class:`ModelConfigError` for the first setting of ``config`` whose check is False, with its value.

    Every config dataclass validates itself this way, so the message always reads
    ``Invalid <kind> setting <name>=<value>.`` with the valid ranges as the hint.
    """
    for name, valid in checks.items():
        if not valid:
            raise ModelConfigError(f"Invalid {kind} setting {name}={getattr(config, name)!r}.", hint=hint)


class CheckpointError(FedmekiError):
    """A model folder or run checkpoint that cannot be loaded, or a resume that does not match its run."""


class InconsistentUpdatesError(FedmekiError, ValueError):
    """Client updates that cannot be aggregated together (different keys, shapes, dtypes, non-finite values)."""


class TooFewClientsError(FedmekiError, RuntimeError):
    """Fewer clients than ``min_clients`` finished a round, so the run stops."""


class FlowerDeploymentError(FedmekiError, RuntimeError):
    """A Flower deployment that cannot run: flwr missing, clients not connected, a process that would not start."""


class UnsafeFileError(CheckpointError):
    """A model folder holding files FedMEKI will not load or publish: pickles (which can run code) or unknown types."""
