"""The clients of a federation as Flower SuperNodes: the server loop's :class:`Clients` over a Flower ``Grid``.

Before the first round every connected SuperNode is asked who it is (its ``client-id`` and its shard
sizes); rounds start only when every client of the partition is served by exactly one node. Each train
or evaluate request becomes one message per client, pushed together and pulled as replies arrive; an
error reply (the ClientApp raised, the node stopped sending heartbeats) or no reply within the round
timeout makes that client a :class:`ClientFailure`, which the server loop records and logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from flwr.app import Message, MessageType, RecordDict
from flwr.common.constant import ErrorCode
from flwr.serverapp import Grid

from fedmeki_models import __version__
from fedmeki_models.config import LocalModelConfig
from fedmeki_models.errors import FlowerDeploymentError
from fedmeki_models.fl.clients import ClientFailure, Metrics
from fedmeki_models.fl.types import ClientUpdate, Weights
from fedmeki_models.flower import wire
from fedmeki_models.run_config import RunConfig

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.5
_QUERY_TIMEOUT = 120.0


class FlowerClients:
    """Clients ``0 .. n_clients - 1`` served by the SuperNodes connected to ``grid``.

    Parameters
    ----------
    grid : flwr.serverapp.Grid
    config : RunConfig
    model_config : LocalModelConfig
        The model every client builds to load the global weights into.
    n_clients : int
        Clients of the partition; all must be connected before the first round.
    round_timeout : float, default=3600
        Seconds to wait for the replies of one request; a client without a reply by then is dropped.
    """

    def __init__(self, grid: Grid, config: RunConfig, model_config: LocalModelConfig, n_clients: int, *,
                 round_timeout: float = 3600.0) -> None:
        self.grid, self.config, self.model_config = grid, config, model_config
        self.n_clients, self.round_timeout = n_clients, round_timeout
        self.nodes: dict[int, int] = {}
        self.sites: dict[int, wire.Site] = {}

    # Connection --------------------------------------------------------------------------------

    def connect(self, timeout: float = 600.0, *, report_every: float = 10.0) -> None:
        """Wait until every client is served by one connected SuperNode, and learn which node serves which.

        Every node that appears is asked who it is; replies are read as they come, so a node that went
        away does not hold the others up.

        Raises
        ------
        FlowerDeploymentError
            If not every client is connected after ``timeout`` seconds, or two nodes claim one client.
        """
        deadline = time.monotonic() + timeout
        next_report = 0.0
        asked: set[int] = set()
        pending: dict[str, int] = {}
        while True:
            new = [node for node in self.grid.get_node_ids() if node not in asked]
            asked.update(new)
            pending.update(self._push(new, MessageType.QUERY, wire.query(self.config.tasks), _QUERY_TIMEOUT))
            for node, reply in self._pull(pending).items():
                self._register(node, reply)
            missing = [client for client in range(self.n_clients) if client not in self.nodes]
            if not missing:
                logger.info("all %d clients connected: %s", self.n_clients, self.describe()["sites"])
                return
            now = time.monotonic()
            if now >= deadline:
                raise FlowerDeploymentError(
                    f"{len(self.nodes)} of {self.n_clients} clients connected after {timeout:.0f} s; "
                    f"missing client(s) {', '.join(map(str, missing))}.",
                    hint="start one SuperNode per missing client with --node-config 'data-dir=\"...\" client-id=K'")
            if now >= next_report:
                logger.info("waiting for clients: %d of %d connected, missing %s", len(self.nodes), self.n_clients,
                            ", ".join(map(str, missing)))
                next_report = now + report_every
            time.sleep(_POLL_SECONDS)

    def _register(self, node: int, reply: Message) -> None:
        if reply.has_error():
            logger.warning("node %d did not identify itself: %s", node, _reason(reply))
            return
        site = wire.read_site(reply.content)
        if not 0 <= site.client < self.n_clients:
            logger.warning("node %d serves client %d, outside the partition's 0..%d; ignored", node, site.client,
                           self.n_clients - 1)
            return
        if site.client in self.nodes and self.nodes[site.client] != node:
            raise FlowerDeploymentError(
                f"Nodes {self.nodes[site.client]} and {node} both serve client {site.client}.",
                hint="give every SuperNode its own client-id in --node-config")
        if site.version != __version__:
            logger.warning("node %d (client %d) runs fedmeki %s, the server %s", node, site.client, site.version,
                           __version__)
        self.nodes[site.client], self.sites[site.client] = node, site

    def describe(self) -> dict:
        """The engine, and per client its node id, dataset fingerprint and shard sizes."""
        return {"engine": "flower",
                "sites": {str(client): {"node": self.nodes[client], "fingerprint": site.fingerprint,
                                        "sizes": site.sizes} for client, site in sorted(self.sites.items())}}

    # Clients protocol --------------------------------------------------------------------------

    def sizes(self, task: str) -> list[int]:
        return [self.sites[client].sizes.get(task, 0) for client in range(self.n_clients)]

    def train(self, round_: int, task: str, clients: Sequence[int], weights: Weights, payload: Weights,
              on_reply: Callable[[], None] | None = None) -> list[ClientUpdate | ClientFailure]:
        content = wire.instruction(self.config, self.model_config, weights, round_=round_, tasks=(task,),
                                   payload=payload)
        replies = self._request([self.nodes[client] for client in clients], MessageType.TRAIN, content,
                                group=f"{round_}:{task}", on_reply=on_reply)
        return [self._update(client, replies.get(self.nodes[client])) for client in clients]

    def evaluate(self, weights: Weights, tasks: Sequence[str]) -> dict[str, dict[int, Metrics]]:
        content = wire.instruction(self.config, self.model_config, weights, tasks=tasks)
        replies = self._request(list(self.nodes.values()), MessageType.EVALUATE, content, group="evaluate")
        results: dict[str, dict[int, Metrics]] = {task: {} for task in tasks}
        for client, node in sorted(self.nodes.items()):
            reply = replies.get(node)
            if reply is None or reply.has_error():
                logger.warning("client %d did not evaluate: %s", client, self._failure(node, reply))
                continue
            for task, metrics in wire.read_metrics(reply.content, tasks).items():
                results[task][client] = metrics
        return results

    def kept_states(self, task: str) -> dict[int, Weights]:
        """Nothing: what a client keeps never leaves its site."""
        return {}

    def state(self) -> dict:
        return {}

    def restore(self, state: dict) -> None:
        """Nothing to restore on the server: the sites keep their own state."""

    # Messaging ---------------------------------------------------------------------------------

    def _request(self, nodes: Sequence[int], kind: str, content: RecordDict, *, group: str = "",
                 on_reply: Callable[[], None] | None = None) -> dict[int, Message]:
        """Send ``content`` to every node and return the replies that came within the round timeout, by node."""
        pending = self._push(nodes, kind, content, self.round_timeout, group=group)
        replies: dict[int, Message] = {}
        deadline = time.monotonic() + self.round_timeout
        while pending and time.monotonic() < deadline:
            arrived = self._pull(pending)
            replies.update(arrived)
            for _ in arrived:
                if on_reply is not None:
                    on_reply()
            if pending:
                time.sleep(_POLL_SECONDS)
        return replies

    def _push(self, nodes: Sequence[int], kind: str, content: RecordDict, ttl: float, *,
              group: str = "") -> dict[str, int]:
        """Push one ``kind`` message per node; returns node by message id."""
        if not nodes:
            return {}
        messages = [Message(content, node, kind, ttl=ttl, group_id=group) for node in nodes]
        return dict(zip(self.grid.push_messages(messages), nodes, strict=True))

    def _pull(self, pending: dict[str, int]) -> dict[int, Message]:
        """The replies that arrived for ``pending`` (node by message id), removed from it; by node."""
        if not pending:
            return {}
        arrived = {}
        for reply in self.grid.pull_messages(list(pending)):
            arrived[pending.pop(reply.metadata.reply_to_message_id)] = reply
        return arrived

    def _update(self, client: int, reply: Message | None) -> ClientUpdate | ClientFailure:
        node = self.nodes[client]
        if reply is None or reply.has_error():
            return ClientFailure(client, self._failure(node, reply))
        update = wire.read_update(reply.content)
        if update.client != client:
            return ClientFailure(client, f"node {node} answered as client {update.client}")
        return update

    def _failure(self, node: int, reply: Message | None) -> str:
        """Why ``node`` sent no usable reply, in one line."""
        if reply is None or reply.error.code in (ErrorCode.MESSAGE_UNAVAILABLE, ErrorCode.REPLY_MESSAGE_UNAVAILABLE):
            return f"NoReply: node {node} sent nothing within {self.round_timeout:.0f} s"
        if reply.error.code == ErrorCode.NODE_UNAVAILABLE:
            return f"NodeUnavailable: node {node} stopped sending heartbeats"
        return f"{_reason(reply)} (node {node})"


def _reason(reply: Message) -> str:
    """A Flower error reply as one line: its code and the last line of its reason (the exception)."""
    lines = (reply.error.reason or "").strip().splitlines()
    return f"Flower error {reply.error.code}: {lines[-1] if lines else 'no reason given'}"
