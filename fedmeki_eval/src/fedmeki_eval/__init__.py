"""FedMEKI scorer: the submission format, its validation, metrics and reports.

Imports neither torch nor the raw-source readers, so a third party can score a submission with
``pip install fedmeki-eval`` alone.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fedmeki-eval")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
