"""Scoring end to end on the tiny demo: template and perfect submissions, partial ones, reports."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml
from huggingface_hub import parse_eval_result_entries

from fedmeki_data.tasks import TASKS
from fedmeki_eval.errors import InvalidSubmissionError
from fedmeki_eval.references import load_references
from fedmeki_eval.report import RESULTS_JSON, plot_results, write_reports
from fedmeki_eval.scorer import score
from fedmeki_eval.template import write_template


@pytest.fixture(scope="module")
def template(tiny_demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("template") / "submission"
    write_template(out, tiny_demo)
    return out


@pytest.fixture
def perfect(tiny_demo, template, tmp_path):
    """The template with every prediction replaced by the reference answer (and a confident score)."""
    out = shutil.copytree(template, tmp_path / "perfect")
    for task_id, reference in load_references(tiny_demo).tasks.items():
        rows = [{"id": record_id, "prediction": answer} for record_id, answer in zip(reference.ids, reference.answers)]
        if reference.task.is_binary:
            rows = [{**row, "score": float(row["prediction"] == "yes")} for row in rows]
        (out / f"{task_id}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return out


def test_template_scores_as_a_constant_no(tiny_demo, template):
    results = score(template)
    references = load_references(tiny_demo)
    assert list(results["tasks"]) == list(TASKS) and results["missing_tasks"] == []
    assert results["references"]["fingerprint"] == references.fingerprint
    for task_id, entry in results["tasks"].items():
        reference = references.tasks[task_id]
        assert entry["n"] == len(reference.ids)
        if reference.task.is_binary:
            assert entry["metrics"]["accuracy"] == pytest.approx(np.mean(reference.labels == 0))
            assert entry["metrics"]["recall"] == 0 and entry["main_score"] == entry["metrics"]["f1"] == 0
            assert entry["metrics"]["auroc"] == pytest.approx(0.5)
        else:
            expected = np.mean([answer == "no" for answer in reference.answers])
            assert entry["metrics"]["exact_match"] == pytest.approx(expected)
        for name, (low, high) in entry["ci95"].items():
            value = entry["metrics"][name]
            assert np.isnan(low) or low - 1e-12 <= value <= high + 1e-12, (task_id, name)


def test_perfect_predictions_score_one(perfect):
    results = score(perfect)
    for task_id, entry in results["tasks"].items():
        assert entry["main_score"] == pytest.approx(1.0), task_id
    assert results["summary"]["all"] == {"mean_main_score": pytest.approx(1.0), "n_tasks": 8}


def test_partial_submission_lists_the_missing_tasks(template, tmp_path):
    partial = shutil.copytree(template, tmp_path / "partial")
    for task_id in ("mortality", "sepsis", "medical_vqa"):
        (partial / f"{task_id}.jsonl").unlink()
    results = score(partial, protocol="paper")
    assert results["missing_tasks"] == ["mortality", "sepsis", "medical_vqa"]
    assert results["summary"]["training"]["n_tasks"] == 3 and results["summary"]["validation"]["n_tasks"] == 2
    assert results["protocol"] == "paper"


def test_references_must_match_the_submissions_fingerprint(template, tmp_path, tiny_demo):
    other = tmp_path / "other-data"
    from fedmeki_data.partition import PartitionConfig
    from fedmeki_data.synthetic.demo import build_demo

    build_demo(other, size="tiny", tasks=["sepsis"], partition_config=PartitionConfig(seed=3))
    with pytest.raises(InvalidSubmissionError) as info:
        score(template, references=other)
    assert info.value.rule == "fingerprint-mismatch"


def test_same_seed_same_intervals(template):
    first, second = score(template, seed=1), score(template, seed=1)
    assert first["tasks"] == second["tasks"]


def test_reports(template, tmp_path):
    results = score(template)
    written = write_reports(results, tmp_path / "reports")
    assert json.loads((tmp_path / "reports" / RESULTS_JSON).read_text()) == results
    markdown = (tmp_path / "reports" / "results.md").read_text()
    assert all(f"`{task_id}`" in markdown for task_id in TASKS)
    entry = yaml.safe_load((tmp_path / "reports" / ".eval_results" / "covid19.yaml").read_text())
    (parsed,) = parse_eval_result_entries(entry)  # the Hub's own reader of the format
    assert (parsed.task_id, parsed.dataset_id) == ("covid19", results["references"]["source"])
    assert parsed.value == results["tasks"]["covid19"]["main_score"]
    assert parsed.notes == f"fedmeki eval {results['fedmeki_version']}, strict protocol, f1"
    assert len(written) == 2 + 8
    assert plot_results(results, tmp_path / "scores.png").read_bytes()[:4] == b"\x89PNG"


def test_scoring_never_imports_torch(template):
    code = ("import sys; from fedmeki_eval.scorer import score; score(sys.argv[1]); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code, str(template)], check=True)


def test_the_evaluate_module_gives_the_scorers_numbers(template, tiny_demo):
    import evaluate

    from fedmeki_eval.hf_evaluate import MODULE_PATH

    results = score(template)
    reference = load_references(tiny_demo).tasks["covid19"]
    metric = evaluate.load(MODULE_PATH, "covid19")
    computed = metric.compute(predictions=["no"] * len(reference.ids), references=list(reference.answers),
                              scores=[0.5] * len(reference.ids))
    assert {name: computed[name] for name in results["tasks"]["covid19"]["metrics"]} == \
        results["tasks"]["covid19"]["metrics"]
    generation = evaluate.load(MODULE_PATH, "medical_vqa").compute(
        predictions=["no"] * 60, references=list(load_references(tiny_demo).tasks["medical_vqa"].answers))
    assert generation["rouge1"] == results["tasks"]["medical_vqa"]["metrics"]["rouge1"]
