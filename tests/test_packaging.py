"""Each subpackage installs on its own, and dependencies point one way: models -> eval -> data."""

import subprocess
import sys
from importlib.metadata import requires

from packaging.requirements import Requirement


def dependency_closure(distribution: str, extras: frozenset = frozenset()) -> set[str]:
    """Names of every distribution `distribution` pulls in, through its installed metadata."""
    seen: set[str] = set()
    pending = [(distribution, extras)]
    while pending:
        name, wanted = pending.pop()
        for line in requires(name) or []:
            requirement = Requirement(line)
            active = requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in (wanted or {""}))
            dependency = requirement.name.lower().replace("_", "-")
            if active and dependency not in seen:
                seen.add(dependency)
                pending.append((dependency, frozenset(requirement.extras)))
    return seen


def test_dependencies_point_one_way():
    data, evaluation, models = (dependency_closure(name) for name in ("fedmeki-data", "fedmeki-eval", "fedmeki-models"))
    assert not {"fedmeki-eval", "fedmeki-models"} & data
    assert "fedmeki-data" in evaluation and "fedmeki-models" not in evaluation
    assert {"fedmeki-data", "fedmeki-eval", "torch"} <= models
    assert "torch" not in evaluation and "torch" not in data
    assert not {"pydicom", "wfdb"} & evaluation  # raw-source readers live in fedmeki-data[sources]
    assert {"pydicom", "wfdb"} <= dependency_closure("fedmeki-data", frozenset({"sources"}))


def test_the_data_layer_does_not_import_torch():
    code = ("import sys, fedmeki_data.hub, fedmeki_data.synthetic.demo, fedmeki_data.info, fedmeki_eval; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
