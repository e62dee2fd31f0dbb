"""The dataset contract: features per task, split names and the canonical clinical variables."""

import pytest
from datasets import Array2D, ClassLabel, Image, Value

from fedmeki_data.schema import (
    CLINICAL_VARIABLE_NAMES,
    CLINICAL_VARIABLES,
    check_split_name,
    split_names,
    task_features,
)
from fedmeki_data.tasks import TASKS

# Headers copied from the sources' documentation (reference/source-formats.md).
PHYSIONET_2019_HOURLY = (
    "HR|O2Sat|Temp|SBP|MAP|DBP|Resp|EtCO2|BaseExcess|HCO3|FiO2|pH|PaCO2|SaO2|AST|BUN|Alkalinephos|Calcium|"
    "Chloride|Creatinine|Bilirubin_direct|Glucose|Lactate|Magnesium|Phosphate|Potassium|Bilirubin_total|"
    "TroponinI|Hct|Hgb|PTT|WBC|Fibrinogen|Platelets"
).split("|")
MIMIC3_BENCHMARKS = [
    "Capillary refill rate", "Diastolic blood pressure", "Fraction inspired oxygen",
    "Glascow coma scale eye opening", "Glascow coma scale motor response", "Glascow coma scale total",
    "Glascow coma scale verbal response", "Glucose", "Heart Rate", "Height", "Mean blood pressure",
    "Oxygen saturation", "Respiratory rate", "Systolic blood pressure", "Temperature", "Weight", "pH",
]


def test_clinical_variables_are_the_deduplicated_union_of_both_sources():
    physionet = [v.physionet2019 for v in CLINICAL_VARIABLES if v.physionet2019]
    mimic = [v.mimic3 for v in CLINICAL_VARIABLES if v.mimic3]
    assert physionet == PHYSIONET_2019_HOURLY  # every column once, in the source's order
    assert sorted(mimic) == sorted(MIMIC3_BENCHMARKS)
    shared = sum(1 for v in CLINICAL_VARIABLES if v.physionet2019 and v.mimic3)
    assert len(CLINICAL_VARIABLES) == len(PHYSIONET_2019_HOURLY) + len(MIMIC3_BENCHMARKS) - shared == 41


def test_clinical_variables_are_documented():
    assert len(set(CLINICAL_VARIABLE_NAMES)) == len(CLINICAL_VARIABLES)
    for variable in CLINICAL_VARIABLES:
        assert variable.name.isidentifier() and variable.name.islower()
        assert variable.unit and variable.description
        low, high = variable.normal_range
        assert low <= high


@pytest.mark.parametrize("task_id", TASKS)
def test_features_follow_the_contract(task_id):
    features = task_features(task_id)
    assert list(features)[:3] == ["id", "client_id", "site"]
    assert features["client_id"] == Value("int32")
    assert list(features)[-3 if TASKS[task_id].is_binary else -2:][:2] == ["question", "answer"]
    assert ("label" in features) == TASKS[task_id].is_binary
    if "label" in features:
        assert features["label"] == ClassLabel(names=["no", "yes"])
    if "image" in TASKS[task_id].modalities:
        assert features["image"] == Image()
    if "ecg" in TASKS[task_id].modalities:
        assert features["ecg"] == Array2D(shape=(1000, 12), dtype="float32")
    if "clinical" in TASKS[task_id].modalities:
        assert features["clinical"] == Array2D(shape=(None, 41), dtype="float32")


def test_split_names():
    assert split_names("covid19", 3) == ("client_0", "client_1", "client_2", "validation", "public", "test")
    assert split_names("medical_vqa", 3) == ("test",)
    assert check_split_name("client_12") == "client_12"
    with pytest.raises(ValueError, match="should match"):
        check_split_name("client-0")
