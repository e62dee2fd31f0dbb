"""Flower deployments of a FedMEKI run: a local one on this machine, and the commands of a real one.

:func:`train_on_flower` (``fedmeki train --engine flower``) starts a SuperLink and one SuperNode per client
on 127.0.0.1, submits the FedMEKI app with ``flwr run``, waits for the run folder the ServerApp writes,
and stops every process it started (their children included), also on Ctrl-C and on failure. The
processes' logs end up in ``RUN/flower/``. :func:`deployment_commands` (``fedmeki flower``) prints what to
run on a real server and at each hospital.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fedmeki_data.errors import FedmekiError, OutputExistsError
from fedmeki_data.hub import resolve_dataset
from fedmeki_data.manifest import read_manifest
from fedmeki_data.progress import Progress
from fedmeki_models import errors
from fedmeki_models.errors import FlowerDeploymentError
from fedmeki_models.flower import require_flower
from fedmeki_models.flower.app import ServerSettings, write_app, write_settings
from fedmeki_models.run_config import RunConfig

logger = logging.getLogger(__name__)

LOGS_DIR = "flower"
"""Where a local deployment's process logs go inside the run folder."""
CONNECTION = "fedmeki-local"
_PROGRESS = re.compile(r"fedmeki-progress (\d+)/(\d+) (.+?)\s*$")
_STARTUP_SECONDS = 60.0
_STOP_SECONDS = 10.0


def flower_environment(home: Path, *, threads: int | None = None) -> dict[str, str]:
    """This process's environment for Flower processes: their own ``FLWR_HOME``, no telemetry, no update
    check, no runtime ``uv sync`` of app dependencies (it could replace the installed torch), and this
    interpreter's scripts first on ``PATH`` (the SuperLink and SuperNodes start ``flower-superexec`` by name)."""
    scripts = str(Path(sys.executable).parent)
    env = {**os.environ, "FLWR_HOME": str(home), "FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1",
           "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1", "RAY_USAGE_STATS_ENABLED": "0",
           "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def write_connection(home: Path, address: str, *, root_certificates: Path | None = None) -> None:
    """Make ``address`` the default SuperLink of ``flwr`` in ``home``; without certificates the channel is
    unencrypted (``insecure``), which only a deployment on 127.0.0.1 should use."""
    home.mkdir(parents=True, exist_ok=True)
    security = (f'root-certificates = "{Path(root_certificates).resolve()}"' if root_certificates is not None
                else "insecure = true")
    (home / "config.toml").write_text(f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\n'
                                      f'address = "{address}"\n{security}\n', encoding="utf-8")


def threads_per_node(n_clients: int) -> int:
    """Torch threads of each local SuperNode's ClientApp: ``OMP_NUM_THREADS`` if set, else a share of the cores.

    Every ClientApp trains at the same time, so sharing the cores avoids oversubscribing them; results
    are bit-identical to an in-process run with the same thread count.
    """
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    return max(1, (os.cpu_count() or 1) // max(n_clients, 1))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen
    log: Path


class LocalDeployment:
    """A SuperLink and one SuperNode per client on this machine, each serving one client of ``data``.

    Use it as a context manager: leaving the block stops every process it started.

    Parameters
    ----------
    data : Path
        The dataset folder every SuperNode reads its own client split from.
    n_clients : int
    workdir : Path
        Flower's home (``FLWR_HOME``), the app folder and the process logs.
    host : str, default="127.0.0.1"
    """

    def __init__(self, data: Path, n_clients: int, workdir: Path, *, host: str = "127.0.0.1") -> None:
        require_flower()
        self.data, self.n_clients, self.workdir, self.host = Path(data), n_clients, Path(workdir), host
        self.home = self.workdir / "flwr-home"
        self.logs = self.workdir / "logs"
        self.port = 0
        self.superlink: _Process | None = None
        self.nodes: dict[int, _Process] = {}
        self.env = flower_environment(self.home, threads=threads_per_node(n_clients))

    def __enter__(self) -> LocalDeployment:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        """Start the SuperLink, wait until it listens, then start every SuperNode."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.port = free_port(self.host)
        write_connection(self.home, self.address)
        self.superlink = self._spawn("superlink", [_executable("flower-superlink"), "--insecure", "--host", self.host,
                                                   "--port", str(self.port)])
        self._wait_listening(self.superlink)
        for client in range(self.n_clients):
            self.start_node(client)

    def start_node(self, client: int) -> None:
        """Start (or restart) the SuperNode of ``client``."""
        node_config = f'data-dir="{self.data.resolve()}" client-id={client}'
        self.nodes[client] = self._spawn(f"supernode-{client}", [
            _executable("flower-supernode"), "--insecure", "--superlink", self.address,
            "--host", self.host, "--port", str(free_port(self.host)), "--node-config", node_config])

    def kill_node(self, client: int) -> None:
        """Kill ``client``'s SuperNode and everything it started at once, as a crashed machine would stop."""
        _stop_trees([self.nodes[client].popen], signal.SIGKILL)

    def submit(self, settings: ServerSettings, *, progress: Progress | None = None) -> dict:
        """Run the FedMEKI app with ``settings`` on this deployment and return ``run.json`` (see :func:`submit`)."""
        return submit(settings, env=self.env, workdir=self.workdir, progress=progress)

    def stop(self) -> None:
        """Stop every process this deployment started (SIGTERM, then SIGKILL after 10 s), children included."""
        processes = [*self.nodes.values(), *([self.superlink] if self.superlink else [])]
        _stop_trees([process.popen for process in processes], signal.SIGTERM)
        self.nodes, self.superlink = {}, None

    def _spawn(self, name: str, command: list[str]) -> _Process:
        log = self.logs / f"{name}.log"
        with log.open("a", encoding="utf-8") as sink:
            popen = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True, cwd=self.workdir, preexec_fn=_die_with_parent)
        logger.info("started %s (pid %d): %s", name, popen.pid, shlex.join(command))
        return _Process(name, popen, log)

    def _wait_listening(self, process: _Process) -> None:
        deadline = time.monotonic() + _STARTUP_SECONDS
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise FlowerDeploymentError(f"The {process.name} exited at start: {_last_line(process.log)}",
                                            hint=f"see {process.log}")
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                if probe.connect_ex((self.host, self.port)) == 0:
                    return
            time.sleep(0.2)
        raise FlowerDeploymentError(f"The {process.name} did not listen on {self.address} within "
                                    f"{_STARTUP_SECONDS:.0f} s.", hint=f"see {process.log}")


def submit(settings: ServerSettings, *, env: dict[str, str], workdir: Path, progress: Progress | None = None) -> dict:
    """Submit the FedMEKI app with ``settings`` to the default SuperLink of ``env``'s ``FLWR_HOME``, stream
    its log into ``workdir/logs/serverapp.log`` and return the ``run.json`` the ServerApp wrote.

    Raises
    ------
    FedmekiError
        The run's own error (the same type as in-process, e.g. ``TooFewClientsError``), or
        :class:`FlowerDeploymentError` if the ServerApp stopped without saying why.
    """
    app = write_app(workdir / "app")
    run_config = write_settings(settings, workdir / "run-config.toml")
    log = workdir / "logs" / "serverapp.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [_executable("flwr"), "run", str(app), CONNECTION, "--run-config", str(run_config), "--stream"]
    logger.info("submitting the run: %s", shlex.join(command))
    with log.open("a", encoding="utf-8") as sink:
        runner = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                  start_new_session=True, preexec_fn=_die_with_parent)
        try:
            for line in runner.stdout:
                sink.write(line)
                sink.flush()
                match = _PROGRESS.search(line)
                if match and progress is not None:
                    progress(match.group(3), int(match.group(1)), int(match.group(2)))
            runner.wait()
        finally:
            _stop_trees([runner], signal.SIGTERM)
    return _outcome(settings.out, log)


def train_on_flower(config: RunConfig, out: str | Path, *, overwrite: bool = False, progress: Progress | None = None,
                    connect_timeout: float = 600.0, round_timeout: float = 3600.0, superlink: str | None = None,
                    root_certificates: str | Path | None = None) -> dict:
    """Run ``config`` on Flower into the run folder ``out`` and return its ``run.json`` summary.

    Without ``superlink``, a local deployment is started for the run: a SuperLink and a SuperNode per
    client on 127.0.0.1, each reading its own split of ``config.data``. With ``superlink``, the run is
    submitted to that running federation, whose ServerApp writes ``out`` on the SuperLink's machine
    (run this there to get the summary back). The result equals the in-process engine's for the same
    config and seed (to float rounding); the run folder has the same files, plus the logs in ``out/flower/``.

    Parameters
    ----------
    config : RunConfig
    out : str or Path
    overwrite : bool, default=False
    progress : Progress, optional
    connect_timeout, round_timeout : float
        Seconds to wait for every client to connect, and for the replies of one round.
    superlink : str, optional
        ``HOST:PORT`` of a running SuperLink.
    root_certificates : str or Path, optional
        CA certificate of that SuperLink's TLS; without it the connection is unencrypted.

    Raises
    ------
    FlowerDeploymentError
        If flwr is missing, a process does not start, or the ServerApp stops without a result.
    ModelConfigError
        For a baseline (they run in-process only).
    OutputExistsError
        If ``out`` exists and ``overwrite`` is not given (checked before anything starts).
    FedmekiError
        The run's own failure, e.g. ``TooFewClientsError`` when too many sites drop out.
    """
    from fedmeki_models.runs import check_remote

    require_flower()
    check_remote(config, resume=False)
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(f"Run folder {out} already exists.", hint="pass --overwrite or another --out")
    settings = ServerSettings(config=config, out=out, overwrite=overwrite, connect_timeout=connect_timeout,
                              round_timeout=round_timeout)
    with tempfile.TemporaryDirectory(prefix="fedmeki-flower-") as workdir, _terminate_as_interrupt():
        workdir = Path(workdir)
        if superlink is not None:
            env = flower_environment(workdir / "flwr-home")
            write_connection(workdir / "flwr-home", superlink, root_certificates=root_certificates)
            with _logs_into(workdir / "logs", out):
                return submit(settings, env=env, workdir=workdir, progress=progress)
        data = resolve_dataset(config.data)
        deployment = LocalDeployment(data, partition_clients(data, config.tasks), workdir)
        with deployment, _logs_into(deployment.logs, out, deployment):
            return deployment.submit(settings, progress=progress)


@contextmanager
def _logs_into(logs: Path, out: Path, deployment: LocalDeployment | None = None) -> Iterator[None]:
    """Stop ``deployment`` and keep the ``logs`` in the run folder whatever happens.

    A run left ``running`` (the ServerApp died) is marked ``failed``, and one stopped by Ctrl-C
    ``interrupted``, after the processes are stopped, so that no ServerApp writes over it.
    """
    from fedmeki_models.runs import read_summary, write_summary

    try:
        yield
    except BaseException as error:
        if deployment is not None:
            deployment.stop()
        summary = read_summary(out)
        interrupted = isinstance(error, KeyboardInterrupt) and summary.get("status") not in (None, "completed")
        if interrupted or summary.get("status") == "running":
            summary.update(status="interrupted" if interrupted else "failed", error=f"{type(error).__name__}: {error}")
            write_summary(out, summary)
        raise
    finally:
        if deployment is not None:
            deployment.stop()
        if out.is_dir():
            (out / LOGS_DIR).mkdir(exist_ok=True)
            for log in logs.glob("*.log"):
                shutil.copyfile(log, out / LOGS_DIR / log.name)


def partition_clients(data: Path, tasks: Sequence[str] | None = None) -> int:
    """Clients of the dataset folder ``data``'s partition (the largest over ``tasks``, default all): one
    SuperNode each."""
    entries = read_manifest(data)["tasks"]
    return max(int(entries[task]["n_clients"]) for task in (tasks or entries))


def deployment_commands(*, superlink: str, clients: int, data_dir: str, out: str = "runs/flower",
                        insecure: bool = False) -> list[tuple[str, str]]:
    """The commands of a real deployment, as ``(where, command)`` pairs, in the order to run them.

    With TLS (the default) the SuperLink also admits only registered SuperNodes: each hospital makes a
    key pair and the server registers its public key (docs/deployment.md explains certificates and keys).
    """
    host, _, port = superlink.rpartition(":")
    if not host or not port.isdigit():
        raise errors.ModelConfigError(f"--superlink {superlink!r} is not HOST:PORT.", hint="e.g. fl.example.org:9093")
    if insecure:
        server, node, submit_tls = "--insecure", "--insecure", "--insecure"
    else:
        server = ("--ssl-ca-certfile certs/ca.crt --ssl-certfile certs/server.pem --ssl-keyfile certs/server.key "
                  "--enable-supernode-auth")
        node, submit_tls = "--root-certificates certs/ca.crt --auth-supernode-private-key keys/supernode", \
            "--root-certificates certs/ca.crt"
    steps = [("server", f"flower-superlink {server} --host 0.0.0.0 --port {port}")]
    for client in range(clients):
        if not insecure:
            steps += [(f"hospital {client}", 'ssh-keygen -t ecdsa -b 384 -N "" -f keys/supernode'),
                      ("server", f"flwr supernode register keys/hospital_{client}.pub  "
                                 f"# the .pub that hospital {client} sent")]
        steps += [(f"hospital {client}", f"flower-supernode {node} --superlink {superlink} "
                                         f"--node-config 'data-dir=\"{data_dir}\" client-id={client}'")]
    steps += [("server", f"fedmeki train --engine flower --superlink {superlink} {submit_tls} "
                         f"--data DATA --out {out} [training options]")]
    return steps


def _outcome(out: Path, log: Path) -> dict:
    from fedmeki_models.runs import read_summary

    summary = read_summary(out)
    status = summary.get("status")
    if status == "completed":
        return summary
    if status == "failed":
        name, _, message = str(summary.get("error", "")).partition(": ")
        cls = getattr(errors, name, None)
        if isinstance(cls, type) and issubclass(cls, FedmekiError):
            raise cls(message, hint=summary.get("hint") or f"see {out / LOGS_DIR}")
        raise FlowerDeploymentError(f"The run failed: {summary.get('error')}", hint=f"see {out / LOGS_DIR}")
    raise FlowerDeploymentError(f"The ServerApp stopped without finishing the run: {_last_line(log)}",
                                hint=f"see {out / LOGS_DIR / log.name} (or {log})")


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (a service manager, ``kill``) like Ctrl-C, so the deployment is stopped and logged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _die_with_parent() -> None:
    """Linux: the started process gets SIGTERM if fedmeki dies, even of SIGKILL (``prctl(PR_SET_PDEATHSIG)``)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _stop_trees(popens: list[subprocess.Popen], sig: int) -> None:
    """Signal every process of ``popens`` and all their descendants at once (the descendants are found
    before signalling, so none is orphaned unseen), then SIGKILL whatever still runs after 10 s."""
    import psutil

    tree = []
    for popen in popens:
        try:
            root = psutil.Process(popen.pid)
            tree += [*root.children(recursive=True), root]
        except psutil.NoSuchProcess:
            continue
    for process in tree:
        try:
            process.send_signal(sig)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(tree, timeout=_STOP_SECONDS)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=_STOP_SECONDS)
    for popen in popens:
        popen.poll()


def _executable(name: str) -> str:
    """A Flower command from this interpreter's environment (else from PATH)."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise FlowerDeploymentError(f"{name} is not installed.", hint="pip install 'fedmeki-models[flower]'")
    return found


def _last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                 if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"
