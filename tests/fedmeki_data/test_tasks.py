"""The task registry: complete, consistent with DESIGN.md, strict."""

import pytest
from pydantic import ValidationError

from fedmeki_data.errors import UnknownTaskError
from fedmeki_data.tasks import (
    BINARY_METRICS,
    GENERATION_METRICS,
    TASKS,
    TaskSpec,
    _build_registry,
    get_task,
    resolve_tasks,
    tasks_with_role,
)

# The table of DESIGN.md: task id -> (role, modalities, main metric).
EXPECTED = {
    "lung_opacity": ("training", ("image",), "f1"),
    "covid19": ("training", ("image",), "f1"),
    "ecg_abnormal": ("training", ("ecg",), "f1"),
    "mortality": ("training", ("clinical",), "f1"),
    "sepsis": ("validation", ("clinical",), "f1"),
    "enlarged_cardiomediastinum": ("validation", ("image",), "f1"),
    "medical_vqa": ("validation", ("image", "text"), "rouge1"),
    "ecg_noise_clarification": ("validation", ("ecg", "text"), "rouge1"),
}


def test_registry_matches_the_design_table():
    assert list(TASKS) == list(EXPECTED)
    for task_id, (role, modalities, main_metric) in EXPECTED.items():
        task = TASKS[task_id]
        assert (task.role, task.modalities, task.main_metric) == (role, modalities, main_metric)


@pytest.mark.parametrize("task", TASKS.values(), ids=list(TASKS))
def test_every_record_is_filled(task):
    assert task.name and task.task_description and task.modality_description
    assert all(source.name and source.url.startswith("https://") and source.license for source in task.sources)
    assert "@" in task.citation
    if task.is_binary:
        assert task.label_names == ("no", "yes")
        assert task.instruction.endswith("?")
        assert task.metrics == BINARY_METRICS
    else:
        assert task.instruction is None and task.metrics == GENERATION_METRICS


def test_prompts_fix_the_papers_mistakes():
    for task in TASKS.values():
        assert "CT image" not in (task.instruction or "")
    assert "chest X-ray" in get_task("lung_opacity").instruction


def test_only_mimic_and_chexpert_are_credentialed():
    assert {task.id for task in TASKS.values() if task.credentialed} == {"mortality", "enlarged_cardiomediastinum"}


def test_sites_where_the_source_has_them():
    assert {task.id for task in TASKS.values() if task.has_sites} == {"covid19", "ecg_abnormal", "mortality", "sepsis"}


def test_roles_split_four_and_four():
    assert [t.id for t in tasks_with_role("training")] == ["lung_opacity", "covid19", "ecg_abnormal", "mortality"]
    assert len(tasks_with_role("validation")) == 4


def test_records_are_frozen():
    with pytest.raises(ValidationError):
        get_task("covid19").main_metric = "accuracy"


def test_unknown_task_suggests_the_closest_id():
    with pytest.raises(UnknownTaskError, match="Did you mean 'mortality'"):
        get_task("mortalty")
    with pytest.raises(KeyError):  # also catchable as the KeyError it is
        get_task("nothing-like-it")


def test_resolve_tasks_keeps_registry_order_and_drops_duplicates():
    assert [t.id for t in resolve_tasks(["sepsis", "covid19", "sepsis"])] == ["covid19", "sepsis"]
    assert len(resolve_tasks(None)) == 8


@pytest.mark.parametrize("change, message", [
    ({"main_metric": "mcc", "metrics": ("f1",)}, "not in its metrics"),  # main metric outside the list
    ({"instruction": None}, "needs an instruction"),  # binary task without its fixed question
    ({"label_names": ("negative", "positive")}, "label_names"),  # labels other than no/yes
    ({"metrics": ("f1", "rouge1")}, "metrics outside"),  # generation metric on a binary task
    ({"id": "Bad-Id"}, "task id must match"),
    ({"unknown_field": 1}, "Extra inputs"),
])
def test_inconsistent_records_are_rejected(change, message):
    fields = get_task("covid19").model_dump() | change
    with pytest.raises(ValidationError, match=message):
        TaskSpec(**fields)


def test_duplicate_ids_are_rejected():
    with pytest.raises(ValueError, match="Duplicate task id"):
        _build_registry([get_task("covid19"), get_task("covid19")])
