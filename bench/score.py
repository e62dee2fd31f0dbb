"""Scoring speed at the paper's test-set scale, beside scikit-learn's metric functions on the same arrays.

Builds references and an 8-task submission in memory and on disk (about 12,000 predictions, sizes of
the original test sets), then times (1) the scorer's work: reading and validating every file and
computing every metric with bootstrap 95 % intervals, and (2) calling scikit-learn / sacrebleu /
rouge-score directly on the same arrays for the point estimates only. Prints both and their ratio.

    python bench/score.py [--resamples 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import sacrebleu
from rouge_score import rouge_scorer
from sklearn import metrics

from fedmeki_data.tasks import TASKS, get_task
from fedmeki_eval.references import References, TaskReferences
from fedmeki_eval.submission import read_submission
from fedmeki_eval.task_scores import score_binary, score_generation

# Test-set sizes of the original sources (paper notes section 2.3; mortality: mimic3-benchmarks' test set).
SIZES = {"lung_opacity": 1800, "covid19": 1383, "ecg_abnormal": 2181, "mortality": 3236, "sepsis": 1000,
         "enlarged_cardiomediastinum": 234, "medical_vqa": 1352, "ecg_noise_clarification": 1000}
ANSWERS = ("no", "yes", "none", "static noise", "baseline drift", "left lung", "chest", "hemorrhage")
FINGERPRINT = "0123456789abcdef"


def make_case(rng: np.random.Generator, folder: Path) -> References:
    tasks = {}
    for task_id, n in SIZES.items():
        task = get_task(task_id)
        ids = tuple(f"{task_id}-{i:06d}" for i in range(n))
        if task.is_binary:
            labels = (rng.random(n) < 0.3).astype(np.int8)
            answers = tuple("yes" if y else "no" for y in labels)
            scores = np.clip(labels * 0.4 + rng.random(n) * 0.6, 0, 1)
            rows = [{"id": i, "prediction": "yes" if s > 0.5 else "no", "score": float(s)} for i, s in zip(ids, scores)]
        else:
            labels = None
            answers = tuple(rng.choice(ANSWERS, n))
            rows = [{"id": i, "prediction": str(rng.choice(ANSWERS))} for i in ids]
        tasks[task_id] = TaskReferences(task=task, ids=ids, answers=answers, labels=labels)
        (folder / f"{task_id}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    metadata = {"name": "bench", "model": {"repo_id": None, "revision": None},
                "dataset": {"repo_or_path": "bench", "fingerprint": FINGERPRINT},
                "method": {"algorithm": "fedavg", "setting": "multi_task", "variant": "local", "clients": 5,
                           "rounds": 10, "seed": 42},
                "communication_bytes": 0, "external_data": False, "fedmeki_version": "bench"}
    (folder / "submission.json").write_text(json.dumps(metadata))
    return References(source="bench", fingerprint=FINGERPRINT, tasks=tasks)


def scorer_work(folder: Path, references: References, resamples: int) -> float:
    start = time.perf_counter()
    submission = read_submission(folder, references)
    for task_id, predictions in submission.tasks.items():
        reference = references.tasks[task_id]
        if reference.task.is_binary:
            score_binary(reference.answers, predictions.predictions, predictions.scores, n_resamples=resamples)
        else:
            score_generation(reference.answers, predictions.predictions, n_resamples=resamples)
    return time.perf_counter() - start


def direct_library_calls(folder: Path, references: References) -> float:
    """Point estimates only, from arrays already in memory (no reading, no validation, no intervals)."""
    loaded = {task_id: [json.loads(line) for line in (folder / f"{task_id}.jsonl").open()] for task_id in SIZES}
    rouge = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    bleu = sacrebleu.BLEU(max_ngram_order=1, effective_order=True, lowercase=True)
    start = time.perf_counter()
    for task_id, rows in loaded.items():
        reference = references.tasks[task_id]
        predictions = [row["prediction"] for row in rows]
        if reference.task.is_binary:
            y_pred = np.array([p == "yes" for p in predictions], dtype=int)
            scores = np.array([row["score"] for row in rows])
            for function in (metrics.accuracy_score, metrics.precision_score, metrics.recall_score, metrics.f1_score,
                             metrics.matthews_corrcoef):
                function(reference.labels, y_pred)
            metrics.roc_auc_score(reference.labels, scores)
            metrics.average_precision_score(reference.labels, scores)
        else:
            for prediction, answer in zip(predictions, reference.answers):
                rouge.score(answer, prediction)
                bleu.sentence_score(prediction, [answer])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    assert set(SIZES) == set(TASKS)
    n = sum(SIZES.values())
    with tempfile.TemporaryDirectory() as tmp:
        references = make_case(np.random.default_rng(0), Path(tmp))
        scorer_work(Path(tmp), references, args.resamples)  # warm-up: imports, scorer construction
        ours = min(scorer_work(Path(tmp), references, args.resamples) for _ in range(args.repeat))
        direct = min(direct_library_calls(Path(tmp), references) for _ in range(args.repeat))
    print(f"predictions: {n} over {len(SIZES)} tasks, bootstrap resamples per interval: {args.resamples}")
    print(f"{'':<44}{'seconds':>9}{'predictions/s':>15}")
    print(f"{'fedmeki scorer (read + validate + CI95)':<44}{ours:>9.3f}{n / ours:>15.0f}")
    print(f"{'sklearn/sacrebleu/rouge direct (points only)':<44}{direct:>9.3f}{n / direct:>15.0f}")
    print(f"ratio scorer / direct: {ours / direct:.2f}")


if __name__ == "__main__":
    main()
