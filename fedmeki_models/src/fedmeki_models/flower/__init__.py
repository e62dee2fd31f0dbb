"""The Flower engine: FedMEKI's ServerApp and ClientApp, and deployments on Flower (``fedmeki-models[flower]``).

The apps wrap the same client update and server loop as the in-process engine (:mod:`fedmeki_models.fl`):
``serverapp`` drives :class:`~fedmeki_models.fl.engine.Federation` over
:class:`~fedmeki_models.flower.clients.FlowerClients`, ``clientapp`` runs
:func:`~fedmeki_models.fl.clients.client_round` at each hospital. :mod:`~fedmeki_models.flower.deployment`
starts a local deployment (one SuperLink and a SuperNode per client on 127.0.0.1) and prints the commands
of a real one. Nothing here is imported by the rest of the package, so ``flwr`` stays optional.
"""

from __future__ import annotations

import importlib.util

from fedmeki_models.errors import FlowerDeploymentError


def require_flower() -> None:
    """Raise a one-line error naming the extra to install when ``flwr`` is missing."""
    if importlib.util.find_spec("flwr") is None:
        raise FlowerDeploymentError("The Flower engine needs flwr, which is not installed.",
                                    hint="pip install 'fedmeki-models[flower]'")
