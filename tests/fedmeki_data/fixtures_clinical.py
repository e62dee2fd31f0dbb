"""Writers of tiny raw clinical sources, laid out exactly as downloaded/preprocessed, with their expectations.

- :func:`write_mimic3`: the mimic3-benchmarks ``data`` folder (``in-hospital-mortality/{train,test}`` and
  ``root/{train,test}/<subject>``), with its real headers and quirks: irregular ``Hours``, blank cells, GCS
  text categories with and without a leading score, several episodes per subject, a stay that ends early,
  a malformed row, a subject without a ``root`` folder, a shuffled train listfile, quoted commas in
  ``stays.csv``. ``stays.csv`` carries ``LAST_CAREUNIT`` (what mimic3-benchmarks writes), ``episode<k>.csv``
  its real leading columns and a few of its ``Diagnosis <code>`` columns (the reader only uses ``Icustay``).
- :func:`write_physionet2019`: ``training_setA/*.psv`` and ``training_setB/*.psv`` with the real 41-column
  header and ``NaN``: a negative stay, a positive one, one positive from the first hour, a malformed row.
"""

from __future__ import annotations

import math
from pathlib import Path

TIMESERIES_HEADER = [
    "Hours", "Capillary refill rate", "Diastolic blood pressure", "Fraction inspired oxygen",
    "Glascow coma scale eye opening", "Glascow coma scale motor response", "Glascow coma scale total",
    "Glascow coma scale verbal response", "Glucose", "Heart Rate", "Height", "Mean blood pressure",
    "Oxygen saturation", "Respiratory rate", "Systolic blood pressure", "Temperature", "Weight", "pH",
]
STAYS_HEADER = [
    "SUBJECT_ID", "HADM_ID", "ICUSTAY_ID", "LAST_CAREUNIT", "DBSOURCE", "INTIME", "OUTTIME", "LOS", "ADMITTIME",
    "DISCHTIME", "DEATHTIME", "ETHNICITY", "DIAGNOSIS", "GENDER", "DOB", "DOD", "AGE", "MORTALITY_INUNIT",
    "MORTALITY", "MORTALITY_INHOSPITAL",
]
EPISODE_HEADER = ["Icustay", "Ethnicity", "Gender", "Age", "Height", "Weight", "Length of Stay", "Mortality",
                  "Diagnosis 4019", "Diagnosis 4280", "Diagnosis 41401", "Diagnosis 42731"]
PSV_HEADER = (
    "HR|O2Sat|Temp|SBP|MAP|DBP|Resp|EtCO2|BaseExcess|HCO3|FiO2|pH|PaCO2|SaO2|AST|BUN|Alkalinephos|Calcium|Chloride|"
    "Creatinine|Bilirubin_direct|Glucose|Lactate|Magnesium|Phosphate|Potassium|Bilirubin_total|TroponinI|Hct|Hgb|PTT|"
    "WBC|Fibrinogen|Platelets|Age|Gender|Unit1|Unit2|HospAdmTime|ICULOS|SepsisLabel"
).split("|")

# --- mimic3-benchmarks -------------------------------------------------------------------------------------------

# Subject 10, episode 1 (MICU, survived): irregular hours, blanks, both GCS spellings, values past 24 h.
# Rows are (Hours, {column: cell}); cells not named are blank.
S10_E1 = [
    (0.25, {"Heart Rate": "80.0", "Systolic blood pressure": "118.0",
            "Glascow coma scale eye opening": "4 Spontaneously",
            "Glascow coma scale motor response": "6 Obeys Commands", "Glascow coma scale verbal response": "5 Oriented",
            "Glascow coma scale total": "15", "Capillary refill rate": "0.0", "Height": "170.0", "Weight": "81.2"}),
    (0.75, {"Heart Rate": "84.0", "Oxygen saturation": "97.0", "Fraction inspired oxygen": "0.5"}),
    (1.5166666666666666, {"Temperature": "37.2", "pH": "7.41", "Glucose": "130"}),
    (3.1, {"Heart Rate": "90.0", "Respiratory rate": "18", "Mean blood pressure": "77.0",
           "Diastolic blood pressure": "59.0"}),
    (3.9, {"Respiratory rate": "22"}),  # Heart Rate blank here: hour 3 keeps 90
    (23.5, {"Heart Rate": "95.0", "Glascow coma scale eye opening": "To Speech",
            "Glascow coma scale motor response": "Localizes Pain", "Glascow coma scale verbal response": "Confused",
            "Glascow coma scale total": "12"}),
    (24.0, {"Heart Rate": "96.0"}),
    (30.2, {"Heart Rate": "100.0", "Glascow coma scale verbal response": "No Response-ETT"}),
    (47.5, {"Heart Rate": "110.0", "Glascow coma scale verbal response": "1.0 ET/Trach",
            "Glascow coma scale eye opening": "2 To pain", "Glascow coma scale motor response": "3 Abnorm flexion"}),
]
# Subject 10, episode 2 (CCU, died): text-only categories, ends after 10.4 h.
S10_E2 = [
    (0.0, {"Heart Rate": "120", "Glascow coma scale eye opening": "None",
           "Glascow coma scale motor response": "Abnormal extension",
           "Glascow coma scale verbal response": "Incomprehensible sounds", "Glascow coma scale total": "5"}),
    (2.0, {"Glascow coma scale eye opening": "Spontaneously", "Glascow coma scale motor response": "Flex-withdraws",
           "Glascow coma scale verbal response": "Inappropriate Words"}),
    (10.4, {"Heart Rate": "130", "Glascow coma scale motor response": "2 Abnorm extensn",
            "Glascow coma scale verbal response": "3 Inapprop words"}),
]
# Subject 20 (test split, SICU): a row with one field too many.
S20_E1 = [(0.5, {"Heart Rate": "70"}), (1.5, {"Heart Rate": "72"})]
# Subject 30 (test split, TSICU): nothing charted before hour 30.
S30_E1 = [(30.0, {"Heart Rate": "88"}), (31.5, {"Temperature": "38.1"})]
# Subject 40 (train split): no folder under root/, so no site.
S40_E1 = [(0.1, {"Heart Rate": "65"})]


def _timeseries_text(rows, malformed_after: int | None = None) -> str:
    lines = [",".join(TIMESERIES_HEADER)]
    for number, (hours, cells) in enumerate(rows):
        lines.append(",".join([repr(float(hours))] + [cells.get(column, "") for column in TIMESERIES_HEADER[1:]]))
        if number == malformed_after:
            lines.append(lines[-1] + ",")
    return "\n".join(lines) + "\n"


def _stay_row(subject, hadm, icustay, unit, intime, outtime, mortality, diagnosis):
    return [str(subject), str(hadm), str(icustay), unit, "carevue", intime, outtime, "3.2104", intime, outtime, "",
            "WHITE", diagnosis, "M", "2050-01-01 00:00:00", "", "61.5", str(mortality), str(mortality),
            str(mortality)]


def _csv_line(cells) -> str:
    return ",".join(f'"{cell}"' if "," in cell else cell for cell in cells)


def write_mimic3(root: Path, *, split_root: bool = True, episode_files: bool = True,
                 first_careunit: bool = False, unsorted_stays: bool = False, extra_subjects: int = 0) -> dict:
    """Write the mimic3-benchmarks ``data`` folder under ``root``; return what the reader should make of it.

    Parameters
    ----------
    split_root : bool
        Subject folders under ``root/train`` and ``root/test`` (after ``split_train_and_test``), else
        directly under ``root/``.
    episode_files : bool
        Write ``episode<k>.csv`` (the stay id of each episode); without them the episode order is used.
    first_careunit : bool
        Name the unit column ``FIRST_CAREUNIT`` instead of mimic3-benchmarks' ``LAST_CAREUNIT``.
    unsorted_stays : bool
        Write ``stays.csv`` rows latest first (mimic3-benchmarks sorts them by ``INTIME``; the episode
        numbering does not depend on the file order).
    extra_subjects : int
        Plain one-stay subjects ``1000, 1001, ...`` (every third one died) added to the train split, so
        that a partition of the build has a record in every split.
    """
    ihm = root / "in-hospital-mortality"
    stays = {  # subject -> (split, ihm episodes: {k: (rows, y_true, malformed_after)}, stays.csv rows)
        "10": ("train", {1: (S10_E1, 0, None), 2: (S10_E2, 1, None)}, [
            # Episode 1 is the earlier stay; a third, short stay (not in the task) comes last.
            _stay_row(10, 100001, 200001, "MICU", "2101-10-20 19:10:11", "2101-10-23 14:00:00", 0,
                      "SEPSIS, R/O PNEUMONIA"),
            _stay_row(10, 100002, 200002, "CCU", "2102-03-01 08:00:00", "2102-03-05 10:00:00", 1,
                      "CHEST PAIN"),
            _stay_row(10, 100003, 200003, "SICU", "2103-01-01 08:00:00", "2103-01-01 20:00:00", 0, "FALL"),
        ]),
        "20": ("test", {1: (S20_E1, 0, 0)}, [
            _stay_row(20, 100020, 200020, "SICU", "2110-05-05 05:05:05", "2110-05-09 05:05:05", 0, "TRAUMA")]),
        "30": ("test", {1: (S30_E1, 0, None)}, [
            _stay_row(30, 100030, 200030, "TSICU", "2120-06-06 06:06:06", "2120-06-10 06:06:06", 0, "S/P FALL")]),
        "40": ("train", {1: (S40_E1, 1, None)}, None),
    }
    units = ("CCU", "CSRU", "MICU", "SICU", "TSICU")
    for n in range(extra_subjects):
        subject = 1000 + n
        rows = [(0.5, {"Heart Rate": str(70 + n)}), (5.25, {"Temperature": "37.0"})]
        stays[str(subject)] = ("train", {1: (rows, int(n % 3 == 0), None)}, [
            _stay_row(subject, 300000 + n, 400000 + n, units[n % 5], "2130-01-01 00:00:00", "2130-01-04 00:00:00",
                      int(n % 3 == 0), "PNEUMONIA")])
    listed = {"train": [], "test": []}
    for subject, (split, episodes, stay_rows) in stays.items():
        (ihm / split).mkdir(parents=True, exist_ok=True)
        for k, (rows, y_true, malformed) in episodes.items():
            name = f"{subject}_episode{k}_timeseries.csv"
            (ihm / split / name).write_text(_timeseries_text(rows, malformed), encoding="utf-8")
            listed[split].append(f"{name},{y_true}")
        if stay_rows is None:
            continue
        folder = root / "root" / (split if split_root else "") / subject
        folder.mkdir(parents=True, exist_ok=True)
        header = [("FIRST_CAREUNIT" if first_careunit and name == "LAST_CAREUNIT" else name) for name in STAYS_HEADER]
        ordered_rows = stay_rows[::-1] if unsorted_stays else stay_rows
        (folder / "stays.csv").write_text(
            "\n".join([",".join(header)] + [_csv_line(row) for row in ordered_rows]) + "\n", encoding="utf-8")
        if episode_files:
            for k in episodes:
                icustay = stay_rows[k - 1][2]
                (folder / f"episode{k}.csv").write_text(
                    ",".join(EPISODE_HEADER) + "\n" + f"{icustay},4,2,61.5,170.0,81.2,3.2104,0,1,0,0,1\n",
                    encoding="utf-8")
    # The train listfile is shuffled by mimic3-benchmarks, the test one sorted.
    for split, lines in listed.items():
        ordered = sorted(lines) if split == "test" else sorted(lines, reverse=True)
        (ihm / split / "listfile.csv").write_text("stay,y_true\n" + "\n".join(ordered) + "\n", encoding="utf-8")
    # Files mimic3-benchmarks also writes, which the reader must ignore.
    (ihm / "train_listfile.csv").write_text("stay,y_true\n10_episode1_timeseries.csv,0\n", encoding="utf-8")
    extra = {f"mimic3-{1000 + n}-episode1": n for n in range(extra_subjects)}
    return {
        "extra": {key: (int(n % 3 == 0), units[n % 5]) for key, n in extra.items()},
        "ids": ["mimic3-10-episode1", "mimic3-10-episode2", "mimic3-20-episode1", "mimic3-30-episode1",
                "mimic3-40-episode1"],
        "labels": {"mimic3-10-episode1": 0, "mimic3-10-episode2": 1, "mimic3-30-episode1": 0,
                   "mimic3-40-episode1": 1},
        "sites": {"mimic3-10-episode1": "MICU", "mimic3-10-episode2": "CCU", "mimic3-30-episode1": "TSICU",
                  "mimic3-40-episode1": ""},
        "groups": {"mimic3-10-episode1": "10", "mimic3-10-episode2": "10", "mimic3-30-episode1": "30",
                   "mimic3-40-episode1": "40"},
        "skipped": {"mimic3-20-episode1": "bad CSV row"},
        "skipped_24h": {"mimic3-20-episode1": "bad CSV row", "mimic3-30-episode1": "no measurement"},
        "hours": {48: {"mimic3-10-episode1": 48, "mimic3-10-episode2": 11, "mimic3-30-episode1": 32,
                       "mimic3-40-episode1": 1},
                  24: {"mimic3-10-episode1": 24, "mimic3-10-episode2": 11, "mimic3-40-episode1": 1}},
    }


# --- PhysioNet/CinC 2019 -----------------------------------------------------------------------------------------

def _psv_row(hour: int, label: int, hr: float = math.nan, temp: float = math.nan, lactate: float = math.nan) -> list:
    row = {name: math.nan for name in PSV_HEADER}
    row.update(HR=hr, Temp=temp, Lactate=lactate, Age=67.0, Gender=1, Unit1=0, Unit2=1, HospAdmTime=-0.03,
               ICULOS=hour, SepsisLabel=label)
    return [row[name] for name in PSV_HEADER]


def _psv_text(rows: list[list]) -> str:
    def cell(value):
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        return f"{value:g}" if isinstance(value, float) else str(value)
    return "\n".join(["|".join(PSV_HEADER)] + ["|".join(cell(value) for value in row) for row in rows]) + "\n"


def write_physionet2019(root: Path, *, nested: bool = False) -> dict:
    """Write set A and set B (under ``root/training/`` as on PhysioNet when ``nested``); return expectations.

    ``HR`` of hour ``t`` (ICULOS, from 1) is ``60 + t`` where charted, so a window's hours can be read back.
    """
    base = root / "training" if nested else root
    set_a, set_b = base / "training_setA", base / "training_setB"
    set_a.mkdir(parents=True)
    set_b.mkdir(parents=True)
    # p000001: negative, 10 hours, HR missing at hours 2 and 5, one lactate draw.
    negative = [_psv_row(t, 0, hr=math.nan if t in (2, 5) else 60.0 + t, temp=36.6,
                         lactate=1.4 if t == 3 else math.nan) for t in range(1, 11)]
    # p000002: 12 hours, SepsisLabel turns 1 at hour 8 (row index 7) and stays 1.
    positive = [_psv_row(t, int(t >= 8), hr=60.0 + t) for t in range(1, 13)]
    # p000003: positive from its first hour.
    septic = [_psv_row(t, 1, hr=60.0 + t) for t in range(1, 5)]
    (set_a / "p000001.psv").write_text(_psv_text(negative), encoding="utf-8")
    (set_a / "p000002.psv").write_text(_psv_text(positive), encoding="utf-8")
    (set_a / "p000003.psv").write_text(_psv_text(septic), encoding="utf-8")
    # p100001: a row with a text cell.
    broken = _psv_text([_psv_row(t, 0, hr=60.0 + t) for t in range(1, 4)]).splitlines()
    broken[2] = broken[2].replace("62", "abc", 1)
    (set_b / "p100001.psv").write_text("\n".join(broken) + "\n", encoding="utf-8")
    # p100002: negative, 3 hours.
    (set_b / "p100002.psv").write_text(_psv_text([_psv_row(t, 0, hr=60.0 + t) for t in range(1, 4)]),
                                       encoding="utf-8")
    (set_b / "README").write_text("not a patient file\n", encoding="utf-8")
    return {
        "ids": ["physionet2019-p000001", "physionet2019-p000002", "physionet2019-p000003", "physionet2019-p100001",
                "physionet2019-p100002"],
        "labels": {"physionet2019-p000001": 0, "physionet2019-p000002": 1, "physionet2019-p100002": 0},
        "sites": {"physionet2019-p000001": "setA", "physionet2019-p000002": "setA", "physionet2019-p100002": "setB"},
        "groups": {"physionet2019-p000001": "p000001", "physionet2019-p000002": "p000002",
                   "physionet2019-p100002": "p100002"},
        "skipped": {"physionet2019-p000003": "positive from the first hour", "physionet2019-p100001": "bad PSV row"},
        "first_positive_hour": {"physionet2019-p000002": 8},
        "hours": {"physionet2019-p000001": list(range(1, 11)), "physionet2019-p000002": list(range(1, 8)),
                  "physionet2019-p100002": [1, 2, 3]},
    }
