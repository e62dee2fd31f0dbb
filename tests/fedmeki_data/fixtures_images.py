"""Small raw image sources written exactly as their downloads are laid out: RSNA, COVID-19 Radiography, CheXpert.

Each ``write_*`` function writes a source under ``root`` and returns what a reader should make of it: the
label of every usable record by id, the reason (prefix) of every record that must be skipped, and the
special records a test looks at. ``seed`` changes only the order in which rows and files are written,
never their content, so two roots written with different seeds must read the same.
"""

from __future__ import annotations

import csv
import io
import shutil
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, SecondaryCaptureImageStorage, generate_uid

RSNA_SIZE = 64
"""Side of the synthetic RSNA images (real ones are 1024)."""
WINDOW = (2048, 1024)
"""Window center and width of the windowed RSNA image (12-bit values)."""
LUT_THRESHOLD = 2048
"""The VOI LUT image maps values below this to 0 and the rest to 1000."""
RSNA_LABELS_HEADER = ["patientId", "x", "y", "width", "height", "Target"]
RSNA_CLASS_HEADER = ["patientId", "class"]
LUNG_OPACITY, NORMAL, NOT_NORMAL = "Lung Opacity", "Normal", "No Lung Opacity / Not Normal"

COVID_SIZE = 32
COVID_METADATA_COLUMNS = ["FILE NAME", "FORMAT", "SIZE", "URL"]
COVID_URLS = {
    "sirm": "https://sirm.org/category/senza-categoria/covid-19/",
    "bimcv": "https://bimcv.cipf.es/bimcv-projects/bimcv-covid19/#1590858128006-9e640421-6711",
    "covid-chestxray-dataset": "https://github.com/ieee8023/covid-chestxray-dataset",
    "covid-19-image-repository": "https://github.com/ml-workgroup/covid-19-image-repository/tree/master/png",
    "eurorad": "https://eurorad.org",
    "rsna-pneumonia-detection-challenge": "https://www.kaggle.com/c/rsna-pneumonia-detection-challenge/data",
    "chest-xray-pneumonia": "https://www.kaggle.com/paultimothymooney/chest-xray-pneumonia",
}
"""Site name a reader should derive -> the URL a metadata sheet gives."""

CHEXPERT_HEADER = [
    "Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly",
    "Lung Opacity", "Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax",
    "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices",
]
CHEXPERT_FOLDER = "CheXpert-v1.0-small"


def _order(rng: np.random.Generator | None, values: list) -> list:
    """``values`` in writing order: as given, or permuted by ``rng``."""
    return list(values) if rng is None else [values[i] for i in rng.permutation(len(values))]


def _texture(key: str, size: int, high: int) -> np.ndarray:
    """A deterministic, non-constant image (gradient + blobs + noise) with integer values in ``[0, high]``."""
    rng = np.random.default_rng(list(key.encode()))
    y, x = np.mgrid[0:size, 0:size] / size
    image = 0.4 * x + 0.2 * y
    for _ in range(3):
        cy, cx, radius = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.2)
        image += 0.5 * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / radius**2)
    image += rng.normal(0.0, 0.03, image.shape)
    image = (image - image.min()) / (image.max() - image.min())
    return np.round(image * high).astype(np.int64)


# --- RSNA -------------------------------------------------------------------------------------------------


def _rsna_dataset(patient_id: str, transfer_syntax: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[patient_id, "instance"])
    meta.TransferSyntaxUID = transfer_syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[patient_id, "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[patient_id, "series"])
    ds.Modality = "CR"
    ds.ConversionType = "WSD"
    ds.SeriesDescription = "view: PA"
    ds.PatientName = patient_id
    ds.PatientID = patient_id
    ds.PatientSex = "F"
    with warnings.catch_warnings():  # RSNA writes ages without the unit AS asks for, as here
        warnings.simplefilter("ignore", UserWarning)
        ds.PatientAge = "51"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.PixelSpacing = [0.143, 0.143]
    return ds


def write_rsna_jpeg_dicom(path: Path, patient_id: str, pixels: np.ndarray) -> None:
    """An RSNA-style DICOM: 8-bit MONOCHROME2, JPEG Baseline, Secondary Capture (as the real files)."""
    ds = _rsna_dataset(patient_id, JPEGBaseline8Bit)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="JPEG", quality=95)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.save_as(path, enforce_file_format=True)


def write_plain_dicom(path: Path, patient_id: str, pixels: np.ndarray, photometric: str = "MONOCHROME2",
                      **elements) -> None:
    """An uncompressed 12-bit DICOM (the quirk files: MONOCHROME1, window, VOI LUT)."""
    ds = _rsna_dataset(patient_id, ExplicitVRLittleEndian)
    ds.set_pixel_data(pixels.astype(np.uint16), photometric, 12, generate_instance_uid=False)
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


def _voi_lut() -> Dataset:
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    item.LUTExplanation = "step"
    item.LUTData = [0] * LUT_THRESHOLD + [1000] * (4096 - LUT_THRESHOLD)
    item["LUTData"].VR = "US"
    return item


def rsna_patient_id(name: str) -> str:
    """A patientId shaped like RSNA's (a UUID), stable for ``name``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"rsna/{name}"))


def write_rsna(root: str | Path, *, real_image: bool = True, conflicting: bool = False,
               seed: int | None = None) -> dict:
    """Write a stage-2 RSNA download under ``root``; return what a reader should make of it.

    Patients: Lung Opacity with 1-3 boxes (one row per box in both CSVs), Normal, the dropped third class,
    a MONOCHROME1 image and its MONOCHROME2 twin, a windowed image, a VOI LUT image, a truncated and an
    empty ``.dcm``, a patient without image, and (``real_image``) pydicom-data's ``RG1_UNCR.dcm``.
    ``conflicting`` adds a patient whose rows disagree. ``seed`` permutes the writing order of rows and files.

    Returns
    -------
    dict
        ``labels`` (id -> 0/1 of usable records), ``skipped`` (id -> reason prefix), ``dropped`` (ids of the
        third class), ``boxes`` (id -> rows in the CSVs), ``raw`` (id -> the values written, synthetic
        uncompressed files), and the ids ``monochrome1``, ``monochrome2``, ``window``, ``lut``, ``real``.
    """
    root = Path(root)
    images = root / "stage_2_train_images"
    images.mkdir(parents=True, exist_ok=True)
    (root / "stage_2_test_images").mkdir(exist_ok=True)
    rng = None if seed is None else np.random.default_rng(seed)

    # name, class, boxes, kind of image
    patients = [(f"opacity-{i}", LUNG_OPACITY, boxes, "jpeg") for i, boxes in enumerate((1, 2, 3, 1))]
    patients += [(f"normal-{i}", NORMAL, 1, "jpeg") for i in range(4)]
    patients += [(f"not-normal-{i}", NOT_NORMAL, 1, "jpeg") for i in range(3)]
    patients += [("monochrome1", NORMAL, 1, "monochrome1"), ("monochrome2", LUNG_OPACITY, 1, "monochrome2"),
                 ("window", NORMAL, 1, "window"), ("lut", LUNG_OPACITY, 2, "lut"),
                 ("truncated", NORMAL, 1, "truncated"), ("empty", LUNG_OPACITY, 1, "empty"),
                 ("missing", LUNG_OPACITY, 2, "missing")]
    if real_image:
        patients.append(("real", LUNG_OPACITY, 2, "real"))
    if conflicting:
        patients.append(("conflicting", LUNG_OPACITY, 2, "jpeg"))

    expected: dict = {"labels": {}, "skipped": {}, "dropped": [], "boxes": {}, "raw": {}}
    twin = _texture("twin", RSNA_SIZE, 4095)
    label_rows, class_rows, writers = [], [], []
    for name, klass, boxes, kind in patients:
        pid = rsna_patient_id(name)
        record_id = f"rsna-{pid}"
        expected["boxes"][record_id] = boxes
        path = images / f"{pid}.dcm"
        for box in range(boxes):
            row_class = NORMAL if name == "conflicting" and box == 1 else klass
            target = int(row_class == LUNG_OPACITY)
            box_cells = [f"{100.0 + 50 * box:.1f}", f"{200.0 + 10 * box:.1f}", "213.0", "379.0"] if target else [""] * 4
            label_rows.append([pid, *box_cells, str(target)])
            class_rows.append([pid, row_class])
        if name == "conflicting":
            expected["skipped"][record_id] = "rows disagree on the class"
        elif klass == NOT_NORMAL:
            expected["dropped"].append(record_id)
        elif kind in ("truncated", "empty"):
            expected["skipped"][record_id] = "unreadable DICOM: "
        elif kind == "missing":
            expected["skipped"][record_id] = "missing image"
        else:
            expected["labels"][record_id] = int(klass == LUNG_OPACITY)
        if kind in ("monochrome1", "monochrome2", "window", "lut", "real"):
            expected[kind] = record_id
        writers.append((name, kind, pid, path))

    for name, kind, pid, path in _order(rng, writers):
        if kind == "jpeg":
            write_rsna_jpeg_dicom(path, pid, _texture(name, RSNA_SIZE, 255))
        elif kind == "monochrome1":
            expected["raw"][f"rsna-{pid}"] = 4095 - twin
            write_plain_dicom(path, pid, 4095 - twin, "MONOCHROME1")
        elif kind == "monochrome2":
            expected["raw"][f"rsna-{pid}"] = twin
            write_plain_dicom(path, pid, twin)
        elif kind == "window":
            gradient = np.tile(np.linspace(0, 4095, RSNA_SIZE).round().astype(np.int64), (RSNA_SIZE, 1))
            expected["raw"][f"rsna-{pid}"] = gradient
            write_plain_dicom(path, pid, gradient, WindowCenter=WINDOW[0], WindowWidth=WINDOW[1])
        elif kind == "lut":
            values = _texture(name, RSNA_SIZE, 4095)
            expected["raw"][f"rsna-{pid}"] = values
            write_plain_dicom(path, pid, values, VOILUTSequence=[_voi_lut()])
        elif kind == "truncated":
            write_plain_dicom(path, pid, _texture(name, RSNA_SIZE, 4095))
            data = path.read_bytes()
            path.write_bytes(data[: len(data) - RSNA_SIZE * RSNA_SIZE])
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "real":
            shutil.copyfile(get_testdata_file("RG1_UNCR.dcm"), path)

    test_pid = rsna_patient_id("stage-2-test")
    write_rsna_jpeg_dicom(root / "stage_2_test_images" / f"{test_pid}.dcm", test_pid, _texture("test", 32, 255))
    _write_csv(root / "stage_2_train_labels.csv", RSNA_LABELS_HEADER, _order(rng, label_rows))
    _write_csv(root / "stage_2_detailed_class_info.csv", RSNA_CLASS_HEADER, _order(rng, class_rows))
    _write_csv(root / "stage_2_sample_submission.csv", ["patientId", "PredictionString"], [[test_pid, ""]])
    return expected


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


# --- COVID-19 Radiography Database ------------------------------------------------------------------------


def write_covid(root: str | Path, *, nested: bool = False, seed: int | None = None) -> dict:
    """Write a COVID-19 Radiography Database download; return what a reader should make of it.

    ``COVID/images`` and ``Normal/images`` PNGs (one RGB, one truncated, one without a metadata row), their
    ``masks/`` folders, the unused ``Lung_Opacity`` and ``Viral Pneumonia`` classes, the four metadata
    sheets (``Normal.metadata.xlsx`` names ``NORMAL-<n>`` for ``Normal-<n>.png``, as the real sheet does)
    and ``README.md.txt``. ``nested`` writes it into ``root/COVID-19_Radiography_Dataset``.

    Returns
    -------
    dict
        ``labels`` (id -> 0/1), ``sites`` (id -> site of every listed image), ``skipped`` (id -> reason
        prefix), ``rgb`` (id of the RGB PNG), ``dataset`` (the dataset folder).
    """
    base = Path(root) / "COVID-19_Radiography_Dataset" if nested else Path(root)
    rng = None if seed is None else np.random.default_rng(seed)
    covid_sites = ["sirm", "bimcv", "covid-chestxray-dataset", "covid-19-image-repository", "eurorad"]
    normal_sites = ["rsna-pneumonia-detection-challenge", "chest-xray-pneumonia"]
    # class folder, sheet prefix, label, count, sites cycled over
    classes = [("COVID", "COVID", 1, 12, covid_sites), ("Normal", "NORMAL", 0, 10, normal_sites),
               ("Lung_Opacity", "Lung_Opacity", None, 2, normal_sites),
               ("Viral Pneumonia", "Viral Pneumonia", None, 2, ["chest-xray-pneumonia"])]
    expected: dict = {"labels": {}, "sites": {}, "skipped": {}, "dataset": base}
    files = []
    for folder, prefix, label, count, sites in classes:
        (base / folder / "images").mkdir(parents=True, exist_ok=True)
        (base / folder / "masks").mkdir(parents=True, exist_ok=True)
        rows = []
        for n in range(1, count + 1):
            stem = f"{folder}-{n}"
            site = sites[n % len(sites)]
            without_metadata = folder == "COVID" and n == count
            if not without_metadata:
                rows.append([f"{prefix}-{n}", "PNG", "256*256", COVID_URLS[site]])
            kind = "rgb" if (folder, n) == ("COVID", 2) else "truncated" if (folder, n) == ("Normal", 3) else "gray"
            files.append((base / folder / "images" / f"{stem}.png", stem, kind))
            files.append((base / folder / "masks" / f"{stem}.png", f"mask-{stem}", "gray"))
            if label is None:
                continue
            record_id = f"covid-{stem}"
            expected["sites"][record_id] = "unknown" if without_metadata else site
            if kind == "truncated":
                expected["skipped"][record_id] = "unreadable image: "
            else:
                expected["labels"][record_id] = label
            if kind == "rgb":
                expected["rgb"] = record_id
        metadata = pd.DataFrame(_order(rng, rows), columns=COVID_METADATA_COLUMNS)
        metadata.to_excel(base / f"{folder}.metadata.xlsx", index=False, sheet_name="Sheet1", engine="openpyxl")
    for path, key, kind in _order(rng, files):
        pixels = _texture(key, COVID_SIZE, 255).astype(np.uint8)
        if kind == "rgb":
            Image.fromarray(np.stack([pixels] * 3, axis=-1)).save(path)
        else:
            Image.fromarray(pixels).save(path)
        if kind == "truncated":
            path.write_bytes(path.read_bytes()[:60])
    (base / "README.md.txt").write_text("COVID-19 CHEST X-RAY DATABASE\n", encoding="utf-8")
    return expected


# --- CheXpert ---------------------------------------------------------------------------------------------


def write_chexpert(root: str | Path, *, folder: str = CHEXPERT_FOLDER, seed: int | None = None) -> dict:
    """Write a CheXpert download (``root/<folder>/valid.csv``, ``valid/``, ``train.csv``); return expectations.

    ``Enlarged Cardiomediastinum`` takes 1.0, 0.0, -1.0 and blank; one JPG is missing, one is truncated;
    ``train.csv`` lists images that the reader must not use.

    Returns
    -------
    dict
        ``labels`` (id -> 0/1), ``groups`` (id -> patient folder), ``skipped`` (id -> reason prefix),
        ``train_ids``, ``dataset`` (the dataset folder).
    """
    dataset = Path(root) / folder
    rng = None if seed is None else np.random.default_rng(seed)
    # patient, study, view, value of Enlarged Cardiomediastinum, kind
    rows = [("patient64541", "study1", "view1_frontal", "1.0", "ok"),
            ("patient64542", "study1", "view1_frontal", "0.0", "ok"),
            ("patient64542", "study1", "view2_lateral", "0.0", "ok"),
            ("patient64543", "study1", "view1_frontal", "1.0", "ok"),
            ("patient64544", "study1", "view1_frontal", "-1.0", "ok"),
            ("patient64545", "study1", "view1_frontal", "", "ok"),
            ("patient64546", "study1", "view1_frontal", "1.0", "ok"),
            ("patient64546", "study2", "view1_frontal", "0.0", "ok"),
            ("patient64547", "study1", "view1_frontal", "1.0", "missing"),
            ("patient64548", "study1", "view1_frontal", "0.0", "truncated"),
            ("patient64549", "study1", "view1_frontal", "0.0", "ok"),
            ("patient64549", "study1", "view2_lateral", "1.0", "ok")]
    expected: dict = {"labels": {}, "groups": {}, "skipped": {}, "dataset": dataset}
    csv_rows, files = [], []
    for index, (patient, study, view, value, kind) in enumerate(rows):
        relative = f"{folder}/valid/{patient}/{study}/{view}.jpg"
        frontal = "frontal" in view
        findings = ["0.0" if value == "1.0" else "1.0", value, value] + [""] * 10 + ["1.0"]
        csv_rows.append([relative, "Female" if index % 2 else "Male", str(40 + index),
                         "Frontal" if frontal else "Lateral", "AP" if frontal else "", *findings])
        record_id = f"chexpert-{patient}-{study}-{view}"
        expected["groups"][record_id] = patient
        if kind == "missing":
            expected["skipped"][record_id] = "missing image"
        elif kind == "truncated":
            expected["skipped"][record_id] = "unreadable image: "
        else:
            expected["labels"][record_id] = int(value == "1.0")
        if kind != "missing":
            files.append((dataset / "valid" / patient / study / f"{view}.jpg", record_id, kind))
    for path, key, kind in _order(rng, files):
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_texture(key, 40, 255).astype(np.uint8)[:, :36]).save(path, format="JPEG", quality=90)
        if kind == "truncated":
            path.write_bytes(path.read_bytes()[:100])
    _write_csv(dataset / "valid.csv", CHEXPERT_HEADER, _order(rng, csv_rows))
    train_rows = [[f"{folder}/train/patient00001/study1/view1_frontal.jpg", "Female", "68", "Frontal", "AP",
                   "1.0", "", "", "", "", "", "", "", "", "0.0", "", "", "", "1.0"]]
    _write_csv(dataset / "train.csv", CHEXPERT_HEADER, train_rows)
    expected["train_ids"] = ["chexpert-patient00001-study1-view1_frontal"]
    return expected
