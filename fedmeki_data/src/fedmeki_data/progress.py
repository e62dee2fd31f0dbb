"""The progress-callback convention shared by every long-running function of FedMEKI."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
"""``progress(label, done, total)``: the CLI draws one bar per label; library code never prints."""
