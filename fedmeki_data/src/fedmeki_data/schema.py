"""The dataset contract: split names, column features per task and the canonical clinical variables.

Every FedMEKI dataset, synthetic or built from a real source, has exactly these columns, so one model
and one scorer serve every build.

Examples
--------
>>> from fedmeki_data.schema import task_features, split_names, CLINICAL_VARIABLE_NAMES
>>> list(task_features("ecg_abnormal"))
['id', 'client_id', 'site', 'ecg', 'question', 'answer', 'label']
>>> split_names("mortality", n_clients=2)
('client_0', 'client_1', 'validation', 'public', 'test')
>>> split_names("sepsis", n_clients=5)
('test',)
>>> CLINICAL_VARIABLE_NAMES[:3]
('heart_rate', 'o2_saturation', 'temperature')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from fedmeki_data.tasks import BINARY_LABELS, TaskSpec, get_task

if TYPE_CHECKING:
    import datasets

ECG_SAMPLING_RATE = 100
"""Hz; PTB-XL's ``records100`` rate."""
ECG_SECONDS = 10
ECG_SAMPLES = ECG_SAMPLING_RATE * ECG_SECONDS
ECG_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

VALIDATION = "validation"
PUBLIC = "public"
TEST = "test"
_SPLIT_NAME = re.compile(r"^\w+$")

VariableKind = Literal["vital", "lab", "neuro", "body"]
"""``vital``: bedside monitoring, charted hourly; ``lab``: blood tests, a few per day; ``neuro``:
Glasgow coma scale and capillary refill, charted every few hours; ``body``: height and weight."""


@dataclass(frozen=True)
class ClinicalVariable:
    """One hourly clinical variable.

    Attributes
    ----------
    name : str
        Canonical snake_case name (the column name in FedMEKI).
    unit : str
        Unit of the stored values.
    description : str
        What is measured.
    kind : VariableKind
        How often it is typically charted.
    normal_range : tuple of float
        Typical adult reference range (low, high), for documentation and the synthetic generator.
    physionet2019 : str or None
        Column name in the PhysioNet/CinC 2019 ``.psv`` files.
    mimic3 : str or None
        Column name in mimic3-benchmarks ``*_timeseries.csv`` files.
    """

    name: str
    unit: str
    description: str
    kind: VariableKind
    normal_range: tuple[float, float]
    physionet2019: str | None = None
    mimic3: str | None = None


def _v(name, unit, description, kind, low, high, physionet2019=None, mimic3=None) -> ClinicalVariable:
    return ClinicalVariable(name, unit, description, kind, (low, high), physionet2019, mimic3)


CLINICAL_VARIABLES: tuple[ClinicalVariable, ...] = (
    # Vital signs (PhysioNet 2019 order; shared with mimic3-benchmarks where both name them).
    _v("heart_rate", "beats/min", "heart rate", "vital", 60, 100, "HR", "Heart Rate"),
    _v("o2_saturation", "%", "pulse oximetry oxygen saturation", "vital", 95, 100, "O2Sat", "Oxygen saturation"),
    _v("temperature", "°C", "body temperature", "vital", 36.1, 37.8, "Temp", "Temperature"),
    _v("systolic_bp", "mmHg", "systolic blood pressure", "vital", 90, 140, "SBP", "Systolic blood pressure"),
    _v("mean_bp", "mmHg", "mean arterial pressure", "vital", 70, 105, "MAP", "Mean blood pressure"),
    _v("diastolic_bp", "mmHg", "diastolic blood pressure", "vital", 60, 90, "DBP", "Diastolic blood pressure"),
    _v("respiratory_rate", "breaths/min", "respiratory rate", "vital", 12, 20, "Resp", "Respiratory rate"),
    _v("etco2", "mmHg", "end-tidal carbon dioxide", "vital", 35, 45, "EtCO2"),
    # Laboratory values (PhysioNet 2019 order).
    _v("base_excess", "mmol/L", "base excess", "lab", -2, 2, "BaseExcess"),
    _v("bicarbonate", "mmol/L", "bicarbonate (HCO3)", "lab", 22, 29, "HCO3"),
    _v("fio2", "fraction", "fraction of inspired oxygen (0.21 = room air)", "lab", 0.21, 0.5, "FiO2",
       "Fraction inspired oxygen"),
    _v("ph", "pH", "arterial pH", "lab", 7.35, 7.45, "pH", "pH"),
    _v("paco2", "mmHg", "arterial partial pressure of CO2", "lab", 35, 45, "PaCO2"),
    _v("sao2", "%", "arterial oxygen saturation", "lab", 95, 100, "SaO2"),
    _v("ast", "IU/L", "aspartate transaminase", "lab", 10, 40, "AST"),
    _v("bun", "mg/dL", "blood urea nitrogen", "lab", 7, 20, "BUN"),
    _v("alkaline_phosphatase", "IU/L", "alkaline phosphatase", "lab", 44, 147, "Alkalinephos"),
    _v("calcium", "mg/dL", "serum calcium", "lab", 8.5, 10.5, "Calcium"),
    _v("chloride", "mmol/L", "serum chloride", "lab", 96, 106, "Chloride"),
    _v("creatinine", "mg/dL", "serum creatinine", "lab", 0.6, 1.2, "Creatinine"),
    _v("bilirubin_direct", "mg/dL", "direct bilirubin", "lab", 0.0, 0.3, "Bilirubin_direct"),
    _v("glucose", "mg/dL", "serum glucose", "lab", 70, 140, "Glucose", "Glucose"),
    _v("lactate", "mmol/L", "lactic acid", "lab", 0.5, 2.0, "Lactate"),
    _v("magnesium", "mg/dL", "serum magnesium", "lab", 1.7, 2.2, "Magnesium"),
    _v("phosphate", "mg/dL", "serum phosphate", "lab", 2.5, 4.5, "Phosphate"),
    _v("potassium", "mmol/L", "serum potassium", "lab", 3.5, 5.0, "Potassium"),
    _v("bilirubin_total", "mg/dL", "total bilirubin", "lab", 0.1, 1.2, "Bilirubin_total"),
    _v("troponin_i", "ng/mL", "troponin I", "lab", 0.0, 0.04, "TroponinI"),
    _v("hematocrit", "%", "hematocrit", "lab", 36, 50, "Hct"),
    _v("hemoglobin", "g/dL", "hemoglobin", "lab", 12, 17, "Hgb"),
    _v("ptt", "s", "partial thromboplastin time", "lab", 25, 35, "PTT"),
    _v("wbc", "10^3/µL", "white blood cell count", "lab", 4, 11, "WBC"),
    _v("fibrinogen", "mg/dL", "fibrinogen", "lab", 200, 400, "Fibrinogen"),
    _v("platelets", "10^3/µL", "platelet count", "lab", 150, 400, "Platelets"),
    # Variables only mimic3-benchmarks records.
    _v("capillary_refill_rate", "0/1", "capillary refill: 0 = normal (< 3 s), 1 = abnormal", "neuro", 0, 0,
       mimic3="Capillary refill rate"),
    _v("gcs_eye", "score 1-4", "Glasgow coma scale, eye opening", "neuro", 4, 4,
       mimic3="Glascow coma scale eye opening"),
    _v("gcs_motor", "score 1-6", "Glasgow coma scale, motor response", "neuro", 6, 6,
       mimic3="Glascow coma scale motor response"),
    _v("gcs_verbal", "score 1-5", "Glasgow coma scale, verbal response", "neuro", 5, 5,
       mimic3="Glascow coma scale verbal response"),
    _v("gcs_total", "score 3-15", "Glasgow coma scale, total", "neuro", 15, 15,
       mimic3="Glascow coma scale total"),
    _v("height", "cm", "body height", "body", 150, 190, mimic3="Height"),
    _v("weight", "kg", "body weight", "body", 50, 100, mimic3="Weight"),
)
"""The canonical hourly variables of ``mortality`` and ``sepsis``: the PhysioNet 2019 vital signs and
laboratory values united with the mimic3-benchmarks variables, each measured quantity once. Static
demographics (age, sex, unit flags, admission time) are not hourly and are not included."""

CLINICAL_VARIABLE_NAMES: tuple[str, ...] = tuple(variable.name for variable in CLINICAL_VARIABLES)


def _modality_feature(modality: str):
    from datasets import Array2D, Image

    return {
        "image": Image(),
        "ecg": Array2D(shape=(ECG_SAMPLES, len(ECG_LEADS)), dtype="float32"),
        "clinical": Array2D(shape=(None, len(CLINICAL_VARIABLES)), dtype="float32"),
    }[modality]


def task_features(task: str | TaskSpec) -> datasets.Features:
    """Return the ``datasets.Features`` of a task, columns in contract order.

    Parameters
    ----------
    task : str or TaskSpec
        Task id or record.

    Returns
    -------
    datasets.Features
        ``id, client_id, site``, the modality columns (``image``: ``Image()``; ``ecg``: ``Array2D((1000,
        12), float32)`` in millivolts, time first; ``clinical``: ``Array2D((None, V), float32)``, one row
        per hour, NaN = not measured), ``question, answer``, and ``label`` for binary tasks.
    """
    # Imported here: `datasets` takes a second to import, and the CLI's quick commands never need it.
    from datasets import ClassLabel, Features, Value

    spec = task if isinstance(task, TaskSpec) else get_task(task)
    columns = {"id": Value("string"), "client_id": Value("int32"), "site": Value("string")}
    for modality in spec.modalities:
        if modality != "text":
            columns[modality] = _modality_feature(modality)
    columns["question"] = Value("string")
    columns["answer"] = Value("string")
    if spec.is_binary:
        columns["label"] = ClassLabel(names=list(BINARY_LABELS))
    return Features(columns)


def client_split(client: int) -> str:
    """Name of client ``client``'s private training split (``client_0``, ``client_1``, ...)."""
    return f"client_{client}"


def split_names(task: str | TaskSpec, n_clients: int) -> tuple[str, ...]:
    """Return the splits a build of ``task`` with ``n_clients`` clients has, in canonical order.

    Training tasks have ``client_0 ... client_{K-1}``, ``validation``, ``public`` and ``test``;
    validation tasks only ``test``.
    """
    spec = task if isinstance(task, TaskSpec) else get_task(task)
    if spec.role == "validation":
        return (TEST,)
    return tuple(client_split(k) for k in range(n_clients)) + (VALIDATION, PUBLIC, TEST)


def check_split_name(name: str) -> str:
    """Return ``name`` if it is a valid split name (``^\\w+$``), else raise ``ValueError``."""
    if not _SPLIT_NAME.match(name):
        raise ValueError(f"Split name should match {_SPLIT_NAME.pattern!r} but got {name!r}.")
    return name
