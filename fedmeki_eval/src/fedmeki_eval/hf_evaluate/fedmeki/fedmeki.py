"""FedMEKI task scores as a Hugging Face ``evaluate`` metric, loadable by path and offline.

    import evaluate
    from fedmeki_eval.hf_evaluate import MODULE_PATH
    metric = evaluate.load(MODULE_PATH, "covid19")     # config name = FedMEKI task id
    metric.compute(predictions=["yes", "no"], references=["yes", "yes"], protocol="strict")

The numbers are those of ``fedmeki eval``: this module only calls the scorer's functions.
"""

import datasets
import evaluate
import numpy

from fedmeki_data.tasks import FEDMEKI_CITATION
from fedmeki_data.tasks import get_task
from fedmeki_eval.task_scores import score_binary
from fedmeki_eval.task_scores import score_generation

_DESCRIPTION = "The FedMEKI scorer for one task: binary metrics or free-text metrics with bootstrap 95 % intervals."
_INPUTS = """
Args:
    predictions: list of str, the model's answers.
    references: list of str, the target answers ("yes"/"no" for binary tasks).
    scores: optional list of float in [0, 1], probability of "yes" (binary tasks; enables auroc and auprc).
    protocol: "strict" (default) or "paper".
    n_resamples: bootstrap resamples (default 1000); seed: bootstrap seed (default 0).
Returns:
    dict of metric name -> value in [0, 1], plus "ci95" (metric name -> [low, high]) and "n".
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _INPUTS)
class Fedmeki(evaluate.Metric):
    """Scores one FedMEKI task; the config name is the task id."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=FEDMEKI_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}),
        )

    def _compute(self, predictions, references, scores=None, protocol="strict", n_resamples=1000, seed=0):
        task = get_task(self.config_name)
        if task.is_binary:
            scores = None if scores is None else numpy.asarray(scores, dtype=float)
            result = score_binary(references, predictions, scores, protocol=protocol, n_resamples=n_resamples,
                                  seed=seed)
        else:
            result = score_generation(references, predictions, protocol=protocol, n_resamples=n_resamples, seed=seed)
        return {**result.metrics, "ci95": {name: list(bounds) for name, bounds in result.ci95.items()}, "n": result.n}
