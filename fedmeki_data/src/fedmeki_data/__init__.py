"""FedMEKI datasets: the task registry, the dataset contract, client partitioning and Hub I/O.

The eight tasks of the benchmark are declared once in :mod:`fedmeki_data.tasks`; every other part of
FedMEKI reads them from there. :mod:`fedmeki_data.schema` fixes the columns of each task,
:mod:`fedmeki_data.partition` splits a pool of records over clients, :mod:`fedmeki_data.synthetic`
generates the offline demo dataset and :mod:`fedmeki_data.hub` writes, loads and publishes dataset
folders in the Hugging Face Hub layout.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fedmeki-data")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
