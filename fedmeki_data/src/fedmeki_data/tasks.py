"""The registry of the eight FedMEKI tasks: one frozen, declarative record per task.

Builders, models, the predictor, the scorer, cards and the CLI all read these records; nothing else in
FedMEKI hard-codes a task's prompt, labels or metrics.

Examples
--------
>>> from fedmeki_data.tasks import get_task, TASKS
>>> len(TASKS)
8
>>> task = get_task("ecg_abnormal")
>>> task.role, task.modalities, task.main_metric
('training', ('ecg',), 'f1')
>>> task.label_names
('no', 'yes')
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fedmeki_data.errors import UnknownTaskError

Role = Literal["training", "validation"]
"""``training``: trained federatedly; ``validation``: never trained on, measures zero-shot transfer."""

Modality = Literal["image", "ecg", "clinical", "text"]
"""Input columns of a task: ``image`` (chest X-ray or radiology image), ``ecg`` (12-lead, 100 Hz, 10 s),
``clinical`` (hourly time series over the clinical variables) and ``text`` (a free-text question)."""

BinaryMetric = Literal["accuracy", "precision", "recall", "f1", "mcc", "auroc", "auprc"]
GenerationMetric = Literal["exact_match", "token_f1", "bleu1", "rouge1", "rougeL", "meteor"]
MetricName = BinaryMetric | GenerationMetric
"""Metrics the scorer computes; ``auroc``/``auprc`` need scores, ``meteor`` needs WordNet data."""

BINARY_METRICS: tuple[BinaryMetric, ...] = ("accuracy", "precision", "recall", "f1", "mcc", "auroc", "auprc")
GENERATION_METRICS: tuple[GenerationMetric, ...] = (
    "exact_match", "token_f1", "bleu1", "rouge1", "rougeL", "meteor",
)
BINARY_LABELS: tuple[str, str] = ("no", "yes")
_TASK_ID = re.compile(r"^[a-z][a-z0-9_]*$")

FEDMEKI_CITATION = """@inproceedings{wang2024fedmeki,
  title     = {{FEDMEKI}: A Benchmark for Scaling Medical Foundation Models via Federated Knowledge Injection},
  author    = {Wang, Jiaqi and Wang, Xiaochen and Lyu, Lingjuan and Chen, Jinghui and Ma, Fenglong},
  booktitle = {Advances in Neural Information Processing Systems (Datasets and Benchmarks Track)},
  year      = {2024},
  eprint    = {2408.09227},
  archivePrefix = {arXiv}
}"""


class Source(BaseModel):
    """A public data source a task is built from.

    Attributes
    ----------
    name : str
        The source's own name.
    url : str
        Where users download it.
    license : str
        License or data use agreement, in a few words.
    credentialed : bool
        True when access needs credentialing or a data use agreement that forbids redistribution
        (MIMIC-III, CheXpert): builds from it are never published openly.
    citation : str
        BibTeX entry of the source's paper.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str
    license: str
    credentialed: bool
    citation: str


class TaskSpec(BaseModel):
    """One FedMEKI task.

    Attributes
    ----------
    id : str
        Task id, also the dataset config name (``lung_opacity``).
    name : str
        Human-readable name as in the paper.
    role : Role
        ``training`` or ``validation``.
    modalities : tuple of Modality
        Input columns besides the question.
    sources : tuple of Source
        Where the real data comes from (two for medical VQA).
    instruction : str or None
        The fixed question of a binary task (the paper's wording, corrected); None where each
        record carries its own question.
    task_description : str
        The paper's ``task_type`` text, which conditions the foundation model's expert gate.
    modality_description : str
        The paper's ``modalities`` text, the other input of that gate.
    label_names : tuple of str
        ``("no", "yes")`` for binary tasks, empty for free-text tasks.
    metrics : tuple of MetricName
        What the scorer reports.
    main_metric : MetricName
        The metric that ranks submissions.
    site_description : str
        What the source's natural sites are (empty when it has none).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    role: Role
    modalities: tuple[Modality, ...] = Field(min_length=1)
    sources: tuple[Source, ...] = Field(min_length=1)
    instruction: str | None
    task_description: str
    modality_description: str
    label_names: tuple[str, ...]
    metrics: tuple[MetricName, ...] = Field(min_length=1)
    main_metric: MetricName
    site_description: str = ""

    @model_validator(mode="after")
    def _check_consistency(self) -> TaskSpec:
        if not _TASK_ID.match(self.id):
            raise ValueError(f"task id must match {_TASK_ID.pattern!r}, got {self.id!r}")
        if self.main_metric not in self.metrics:
            raise ValueError(f"main_metric {self.main_metric!r} of {self.id!r} is not in its metrics")
        allowed = BINARY_METRICS if self.label_names else GENERATION_METRICS
        if self.label_names and self.label_names != BINARY_LABELS:
            raise ValueError(f"binary task {self.id!r} must have label_names {BINARY_LABELS}")
        if self.label_names and not self.instruction:
            raise ValueError(f"binary task {self.id!r} needs an instruction")
        if not set(self.metrics) <= set(allowed):
            raise ValueError(f"task {self.id!r} lists metrics outside {allowed}")
        return self

    @property
    def is_binary(self) -> bool:
        """Whether the target is a yes/no label (else free text)."""
        return bool(self.label_names)

    @property
    def credentialed(self) -> bool:
        """Whether any source forbids open redistribution."""
        return any(source.credentialed for source in self.sources)

    @property
    def has_sites(self) -> bool:
        """Whether the source has natural sites for ``--partition natural``."""
        return bool(self.site_description)

    @property
    def citation(self) -> str:
        """BibTeX of the task's sources."""
        return "\n\n".join(source.citation for source in self.sources)


def _build_registry(specs: Iterable[TaskSpec]) -> Mapping[str, TaskSpec]:
    registry: dict[str, TaskSpec] = {}
    for spec in specs:
        if spec.id in registry:
            raise ValueError(f"Duplicate task id in the registry: {spec.id!r}")
        registry[spec.id] = spec
    return MappingProxyType(registry)


_BINARY = dict(label_names=BINARY_LABELS, metrics=BINARY_METRICS, main_metric="f1")
_GENERATION = dict(label_names=(), metrics=GENERATION_METRICS, main_metric="rouge1", instruction=None)
_IMAGE_ONLY = "Image only"
_CLINICAL_ONLY = "Clinical features only, including lab events and vital signs."

_PTBXL = Source(
    name="PTB-XL 1.0.3",
    url="https://physionet.org/content/ptb-xl/1.0.3/",
    license="CC BY 4.0 (open access on PhysioNet)",
    credentialed=False,
    citation="""@article{wagner2020ptbxl,
  title   = {{PTB-XL}, a large publicly available electrocardiography dataset},
  author  = {Wagner, Patrick and Strodthoff, Nils and Bousseljot, Ralf-Dieter and Kreiseler, Dieter and
             Lunze, Fatima I. and Samek, Wojciech and Schaeffter, Tobias},
  journal = {Scientific Data}, volume = {7}, pages = {154}, year = {2020}
}""",
)

TASKS: Mapping[str, TaskSpec] = _build_registry([
    TaskSpec(
        id="lung_opacity",
        name="Lung opacity detection",
        role="training",
        modalities=("image",),
        sources=(Source(
            name="RSNA Pneumonia Detection Challenge (stage 2)",
            url="https://www.kaggle.com/competitions/rsna-pneumonia-detection-challenge",
            license="Kaggle competition rules; images are not redistributable by default",
            credentialed=False,
            citation="""@article{shih2019rsna,
  title   = {Augmenting the National Institutes of Health Chest Radiograph Dataset with Expert
             Annotations of Possible Pneumonia},
  author  = {Shih, George and Wu, Carol C. and Halabi, Safwan S. and others},
  journal = {Radiology: Artificial Intelligence}, volume = {1}, number = {1}, year = {2019}
}""",
        ),),
        # The paper asked about a "CT image"; RSNA images are chest radiographs.
        instruction="Assess this chest X-ray: should it be classified as lung opacity?",
        task_description=(
            "Lung opacity classification involves using medical imaging techniques to distinguish between "
            "normal lung appearances and areas of increased density, which are indicative of various "
            "pulmonary conditions."
        ),
        modality_description=_IMAGE_ONLY,
        **_BINARY,
    ),
    TaskSpec(
        id="covid19",
        name="COVID-19 detection",
        role="training",
        modalities=("image",),
        sources=(Source(
            name="COVID-19 Radiography Database",
            url="https://www.kaggle.com/datasets/tawsifurrahman/covid19-radiography-database",
            license="Kaggle dataset terms; each contributing collection keeps its own license",
            credentialed=False,
            citation="""@article{chowdhury2020covid,
  title   = {Can {AI} Help in Screening Viral and {COVID-19} Pneumonia?},
  author  = {Chowdhury, Muhammad E. H. and Rahman, Tawsifur and Khandakar, Amith and others},
  journal = {IEEE Access}, volume = {8}, pages = {132665--132676}, year = {2020}
}

@article{rahman2021covid,
  title   = {Exploring the effect of image enhancement techniques on {COVID-19} detection using chest
             X-ray images},
  author  = {Rahman, Tawsifur and Khandakar, Amith and Qiblawey, Yazan and others},
  journal = {Computers in Biology and Medicine}, volume = {132}, pages = {104319}, year = {2021}
}""",
        ),),
        instruction="Based on this chest X-ray, is the patient COVID-19 positive?",
        task_description=(
            "The COVID-19 prediction task involves analyzing chest images to determine whether a patient "
            "is positive for COVID-19."
        ),
        modality_description=_IMAGE_ONLY,
        site_description="contributing collection named in the metadata URL",
        **_BINARY,
    ),
    TaskSpec(
        id="ecg_abnormal",
        name="ECG abnormal detection",
        role="training",
        modalities=("ecg",),
        sources=(_PTBXL,),
        instruction="Is the given ECG abnormal?",
        task_description=(
            "The ECG abnormal detection task involves analyzing ECG signals to determine whether they are "
            "normal or abnormal, based on specific clinical criteria."
        ),
        modality_description="ECG only",
        site_description="PTB-XL recording site",
        **_BINARY,
    ),
    TaskSpec(
        id="mortality",
        name="Mortality prediction",
        role="training",
        modalities=("clinical",),
        sources=(Source(
            name="MIMIC-III 1.4 (mimic3-benchmarks in-hospital mortality)",
            url="https://physionet.org/content/mimiciii/1.4/",
            license="PhysioNet Credentialed Health Data License 1.5.0; never redistribute",
            credentialed=True,
            citation="""@article{johnson2016mimic,
  title   = {{MIMIC-III}, a freely accessible critical care database},
  author  = {Johnson, Alistair E. W. and Pollard, Tom J. and Shen, Lu and others},
  journal = {Scientific Data}, volume = {3}, pages = {160035}, year = {2016}
}

@article{harutyunyan2019benchmarks,
  title   = {Multitask learning and benchmarking with clinical time series data},
  author  = {Harutyunyan, Hrayr and Khachatrian, Hrant and Kale, David C. and Ver Steeg, Greg and
             Galstyan, Aram},
  journal = {Scientific Data}, volume = {6}, pages = {96}, year = {2019}
}""",
        ),),
        # The original code has no recipe for this task; the wording follows its sepsis prompt.
        instruction="Based on these clinical features, will this patient die in hospital?",
        task_description=(
            "The mortality prediction task aims at predicting whether a patient will die in hospital "
            "from clinical data such as vital signs and lab results recorded early in the ICU stay."
        ),
        modality_description=_CLINICAL_ONLY,
        site_description="first ICU care unit of the stay (MIMIC-III FIRST_CAREUNIT)",
        **_BINARY,
    ),
    TaskSpec(
        id="sepsis",
        name="Sepsis prediction",
        role="validation",
        modalities=("clinical",),
        sources=(Source(
            name="PhysioNet/Computing in Cardiology Challenge 2019",
            url="https://physionet.org/content/challenge-2019/1.0.0/",
            license="CC BY 4.0 (open access on PhysioNet)",
            credentialed=False,
            citation="""@article{reyna2020sepsis,
  title   = {Early Prediction of Sepsis From Clinical Data: The {PhysioNet/Computing} in Cardiology
             Challenge 2019},
  author  = {Reyna, Matthew A. and Josef, Christopher S. and Jeter, Russell and others},
  journal = {Critical Care Medicine}, volume = {48}, number = {2}, pages = {210--217}, year = {2020}
}""",
        ),),
        instruction="Based on these clinical features, will sepsis occur in this patient?",
        task_description=(
            "The task aims at developing a machine learning model to predict the onset of sepsis in "
            "patients using clinical data such as vital signs and lab results."
        ),
        modality_description=_CLINICAL_ONLY,
        site_description="hospital system (training set A or B)",
        **_BINARY,
    ),
    TaskSpec(
        id="enlarged_cardiomediastinum",
        name="Enlarged cardiomediastinum detection",
        role="validation",
        modalities=("image",),
        sources=(Source(
            name="CheXpert v1.0",
            url="https://stanfordmlgroup.github.io/competitions/chexpert/",
            license="Stanford University research use agreement; never redistribute",
            credentialed=True,
            citation="""@inproceedings{irvin2019chexpert,
  title     = {{CheXpert}: A Large Chest Radiograph Dataset with Uncertainty Labels and Expert Comparison},
  author    = {Irvin, Jeremy and Rajpurkar, Pranav and Ko, Michael and others},
  booktitle = {Proceedings of the AAAI Conference on Artificial Intelligence}, volume = {33},
  pages     = {590--597}, year = {2019}
}""",
        ),),
        instruction="Does this image show evidence of enlarged cardiomediastinum?",
        task_description=(
            "The enlarged cardiomediastinum prediction task involves interpreting chest X-ray images to "
            "accurately determine the presence or absence of enlarged cardiomediastinum."
        ),
        modality_description=_IMAGE_ONLY,
        **_BINARY,
    ),
    TaskSpec(
        id="medical_vqa",
        name="Medical visual question answering",
        role="validation",
        modalities=("image", "text"),
        sources=(
            Source(
                name="VQA-RAD",
                url="https://osf.io/89kps/",
                license="CC0 1.0",
                credentialed=False,
                citation="""@article{lau2018vqarad,
  title   = {A dataset of clinically generated visual questions and answers about radiology images},
  author  = {Lau, Jason J. and Gayen, Soumya and Ben Abacha, Asma and Demner-Fushman, Dina},
  journal = {Scientific Data}, volume = {5}, pages = {180251}, year = {2018}
}""",
            ),
            Source(
                name="SLAKE 1.0 (English questions)",
                url="https://www.med-vqa.com/slake/",
                license="CC BY 4.0",
                credentialed=False,
                citation="""@inproceedings{liu2021slake,
  title     = {{SLAKE}: A Semantically-Labeled Knowledge-Enhanced Dataset for Medical Visual Question
               Answering},
  author    = {Liu, Bo and Zhan, Li-Ming and Xu, Li and Ma, Lin and Yang, Yan and Wu, Xiao-Ming},
  booktitle = {IEEE International Symposium on Biomedical Imaging (ISBI)}, pages = {1650--1654},
  year      = {2021}
}""",
            ),
        ),
        task_description=(
            "The medical Visual Question Answering task involves interpreting complex medical queries based "
            "on images and accurately providing answers, often based on specific clinical knowledge and "
            "patient case details."
        ),
        modality_description="Text and image",
        **_GENERATION,
    ),
    TaskSpec(
        id="ecg_noise_clarification",
        name="ECG noise clarification",
        role="validation",
        modalities=("ecg", "text"),
        sources=(
            Source(
                name="ECG-QA (PTB-XL template questions, noise attributes)",
                url="https://github.com/Jwoo5/ecg-qa",
                license="CC BY 4.0",
                credentialed=False,
                citation="""@inproceedings{oh2023ecgqa,
  title     = {{ECG-QA}: A Comprehensive Question Answering Dataset Combined With Electrocardiogram},
  author    = {Oh, Jungwoo and Lee, Gyubok and Bae, Seongsu and Kwon, Joon-myoung and Choi, Edward},
  booktitle = {Advances in Neural Information Processing Systems (Datasets and Benchmarks Track)},
  year      = {2023}
}""",
            ),
            _PTBXL,
        ),
        task_description=(
            "The medical question answering task involves interpreting complex medical queries and "
            "accurately providing answers, based on given signals concerning patient's health condition."
        ),
        modality_description="Text and signal.",
        **_GENERATION,
    ),
])


def get_task(task_id: str) -> TaskSpec:
    """Return the registered task ``task_id``.

    Raises
    ------
    UnknownTaskError
        If no task has that id; the message suggests the closest id.

    Examples
    --------
    >>> get_task("covid19").name
    'COVID-19 detection'
    >>> get_task("covid")
    Traceback (most recent call last):
    ...
    fedmeki_data.errors.UnknownTaskError: Unknown task 'covid'. Did you mean 'covid19'?
    """
    try:
        return TASKS[task_id]
    except KeyError:
        close = difflib.get_close_matches(task_id, list(TASKS), n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownTaskError(
            f"Unknown task {task_id!r}.{suggestion}",
            hint="run 'fedmeki tasks ls' to list the eight task ids",
        ) from None


def resolve_tasks(task_ids: Iterable[str] | None = None) -> tuple[TaskSpec, ...]:
    """Return the named tasks in registry order (all tasks when ``task_ids`` is None or empty)."""
    wanted = list(task_ids or [])
    if not wanted:
        return tuple(TASKS.values())
    chosen = {get_task(task_id).id for task_id in wanted}
    return tuple(task for task in TASKS.values() if task.id in chosen)


def tasks_with_role(role: Role) -> tuple[TaskSpec, ...]:
    """Return the training or the validation tasks, in registry order."""
    return tuple(task for task in TASKS.values() if task.role == role)
