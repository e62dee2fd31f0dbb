"""FedMEKI models: local multimodal models, federated learning engines, knowledge injection, model zoo."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fedmeki-models")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
