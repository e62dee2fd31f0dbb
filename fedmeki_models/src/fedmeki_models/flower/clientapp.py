"""FedMEKI's Flower ClientApp: one hospital's side of a federation.

A SuperNode serves one client (site) of the partition. Its node config names the site and its data::

    flower-supernode ... --node-config 'data-dir="DATA_DIR" client-id=2'

``data-dir`` is a FedMEKI dataset folder holding the site's ``client_<client-id>`` split (and, for
evaluation, the ``validation`` rows tagged with its client id); ``device`` (``auto``, ``cpu``, ``cuda:N``)
is optional. The ClientApp reads only that split, trains with the algorithm's own client update
(:func:`fedmeki_models.fl.clients.client_round`, as the in-process engine does), and replies with the
update: weights, counts and loss, never records. What the algorithm keeps at the client (SCAFFOLD's
control variate, FedBN's batch-norm tensors) stays in the node's ``context.state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

from fedmeki_data.errors import InvalidParameterError
from fedmeki_data.hub import resolve_dataset
from fedmeki_data.manifest import read_manifest
from fedmeki_data.schema import VALIDATION, client_split
from fedmeki_models import __version__
from fedmeki_models.data import TaskTensors, load_task_tensors
from fedmeki_models.fl.algorithms import make_algorithm
from fedmeki_models.fl.clients import client_round, evaluation_options
from fedmeki_models.flower import wire
from fedmeki_models.model import LocalModel
from fedmeki_models.runs import resolve_device
from fedmeki_models.training import evaluate_binary, load_state

app = ClientApp()

DATA_DIR, CLIENT_ID, DEVICE = "data-dir", "client-id", "device"
"""Node config keys."""
_KEPT = "kept.{task}"


@dataclass(frozen=True)
class NodeSite:
    """This SuperNode's site: its dataset folder, client index and device (from its node config)."""

    data: Path
    client: int
    device: str

    @classmethod
    def from_context(cls, context: Context) -> NodeSite:
        config = context.node_config
        if DATA_DIR not in config:
            raise InvalidParameterError(f"This SuperNode has no {DATA_DIR!r} in its node config.",
                                        hint="start it with --node-config 'data-dir=\"/path/to/data\" client-id=0'")
        try:
            client = int(config.get(CLIENT_ID, 0))
        except (TypeError, ValueError):
            raise InvalidParameterError(f"client-id must be an integer, got {config[CLIENT_ID]!r}.",
                                        hint="client-id is the site's index in the partition: 0, 1, ...") from None
        return cls(data=resolve_dataset(str(config[DATA_DIR])), client=client,
                   device=str(config.get(DEVICE, "auto")))

    def shard(self, task: str, model: LocalModel) -> TaskTensors:
        """This site's training records of ``task``, decoded for ``model``."""
        return load_task_tensors(self.data, task, client_split(self.client), **_sizes(model))

    def validation(self, task: str, model: LocalModel) -> TaskTensors:
        """This site's rows of ``task``'s validation split."""
        rows = load_task_tensors(self.data, task, VALIDATION, **_sizes(model))
        return rows.subset((rows.client_ids == self.client).nonzero().flatten())


@app.query()
def identify(message: Message, context: Context) -> Message:
    """Tell the server which client this node serves and how many training records it holds per task."""
    site = NodeSite.from_context(context)
    manifest = read_manifest(site.data)
    sizes = {}
    for task in wire.read_query(message.content):
        entry = manifest["tasks"].get(task)
        if entry is None:
            raise InvalidParameterError(f"{site.data} has no task {task!r}.",
                                        hint=f"it has: {', '.join(manifest['tasks'])}")
        sizes[task] = int(entry["splits"].get(client_split(site.client), {}).get("rows", 0))
    if not any(sizes.values()):
        raise InvalidParameterError(f"{site.data} holds no {client_split(site.client)} split of "
                                    f"{', '.join(sizes)}.", hint="check this node's client-id and data-dir")
    site_record = wire.Site(client=site.client, sizes=sizes, fingerprint=manifest["fingerprint"], version=__version__)
    return Message(wire.site_reply(site_record), reply_to=message)


@app.train()
def train(message: Message, context: Context) -> Message:
    """Train the received global weights of one task on this site's shard and reply with the update."""
    site = NodeSite.from_context(context)
    order = wire.read_instruction(message.content)
    (task,) = order.tasks
    device = resolve_device(site.device)
    model = LocalModel(order.model).to(device)
    kept = context.state.array_records.get(_KEPT.format(task=task))
    outcome = client_round(make_algorithm(order.run.algorithm, **order.run.algorithm_params), model, task,
                           site.shard(task, model), order.run, round_=order.round, client=site.client,
                           weights=order.weights, payload=order.payload,
                           client_state=wire.from_record(kept) if kept is not None else {}, device=device)
    context.state[_KEPT.format(task=task)] = wire.to_record(outcome.state)
    return Message(wire.update_reply(outcome.update), reply_to=message)


@app.evaluate()
def evaluate(message: Message, context: Context) -> Message:
    """Metrics of the received global weights on this site's validation rows, per task."""
    site = NodeSite.from_context(context)
    order = wire.read_instruction(message.content)
    device = resolve_device(site.device)
    model = LocalModel(order.model).to(device)
    load_state(model, order.weights)
    options = evaluation_options(order.run, device)
    per_task = {}
    for task in order.tasks:
        rows = site.validation(task, model)
        if len(rows):
            per_task[task] = evaluate_binary(model, task, rows, **options)
    return Message(wire.metrics_reply(site.client, per_task), reply_to=message)


def _sizes(model: LocalModel) -> dict[str, int]:
    return {"image_size": model.config.image.image_size, "max_steps": model.config.clinical.max_steps}
