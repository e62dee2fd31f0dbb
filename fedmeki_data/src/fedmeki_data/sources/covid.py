"""``covid19`` from the COVID-19 Radiography Database (Kaggle), as unzipped.

Reads ``COVID/images/*.png`` (yes) and ``Normal/images/*.png`` (no), in sorted file-name order (the
original code used ``os.listdir`` order, so its seeded split depended on the file system). The natural
site of an image is the contributing collection that the URL of its row in ``COVID.metadata.xlsx`` /
``Normal.metadata.xlsx`` (``FILE NAME, FORMAT, SIZE, URL``) names: see :func:`site_from_url`. The source
has no patient ids, so each image is its own group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl  # noqa: F401  (the [sources] extra; imported here so a missing install is reported up front)

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.sources.base import BuildOptions, Record, Skipped, error_reason
from fedmeki_data.sources.images import binary_image_record

TASK = "covid19"
DATASET_FOLDER = "COVID-19_Radiography_Dataset"
"""The folder the Kaggle archive unzips to; ``--source`` may point at it or at its parent."""
CLASSES = (("COVID", 1), ("Normal", 0))
"""Class folders the task uses and their label (``Lung_Opacity`` and ``Viral Pneumonia`` are not used)."""
UNKNOWN_SITE = "unknown"
"""Site of an image without a metadata row or URL."""
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "raw.githubusercontent.com")
_IMAGE_SUFFIX = re.compile(r"\.(png|jpe?g)$", re.IGNORECASE)
_WWW = re.compile(r"^www\d*\.")


@dataclass(frozen=True)
class CovidItem:
    """One COVID-19 Radiography image: its path, label and contributing collection."""

    image: str
    label: int
    site: str

    @property
    def stem(self) -> str:
        return Path(self.image).stem

    @property
    def id(self) -> str:
        return f"covid-{self.stem}"


def site_from_url(url: object) -> str:
    """Short, stable name of the collection a metadata URL points to.

    The repository name on a code host, the competition or dataset slug on Kaggle, else the first label
    of the host name (``www.`` dropped); :data:`UNKNOWN_SITE` for an empty cell.

    Examples
    --------
    >>> site_from_url("https://github.com/ieee8023/covid-chestxray-dataset")
    'covid-chestxray-dataset'
    >>> site_from_url("https://www.kaggle.com/c/rsna-pneumonia-detection-challenge/data")
    'rsna-pneumonia-detection-challenge'
    >>> site_from_url("https://bimcv.cipf.es/bimcv-projects/bimcv-covid19/#1590858128006-9e640421-6711")
    'bimcv'
    >>> site_from_url(" sirm.org/category/senza-categoria/covid-19/ "), site_from_url(float("nan"))
    ('sirm', 'unknown')
    """
    if not isinstance(url, str) or not url.strip():
        return UNKNOWN_SITE
    text = url.split()[0].strip(",;\"'")
    parsed = urlsplit(text if "://" in text else f"//{text}")
    host = _WWW.sub("", (parsed.hostname or "").lower())
    parts = [part for part in parsed.path.split("/") if part]
    name = host.split(".")[0]
    if host in _CODE_HOSTS and len(parts) >= 2:
        name = parts[1]
    elif host == "kaggle.com" and parts:
        if parts[0] in ("c", "competitions", "datasets"):
            parts = parts[2:] if parts[0] == "datasets" else parts[1:]
            name = parts[0] if parts else name
        elif len(parts) >= 2:
            name = parts[1]
    name = name.lower().removesuffix(".git")
    return name or UNKNOWN_SITE


def list_items(root: Path, options: BuildOptions) -> list[CovidItem]:
    """One item per PNG of ``COVID/images`` and ``Normal/images``, sorted by id.

    Raises
    ------
    DatasetNotFoundError
        If neither ``root`` nor ``root/COVID-19_Radiography_Dataset`` holds both class folders, or a
        metadata sheet cannot be read.
    """
    base = _dataset_folder(Path(root))
    items = []
    for folder, label in CLASSES:
        sites = _metadata_sites(base / f"{folder}.metadata.xlsx")
        for path in (base / folder / "images").iterdir():
            if path.suffix.lower() == ".png" and not path.name.startswith(".") and path.is_file():
                items.append(CovidItem(str(path), label, sites.get(path.stem.lower(), UNKNOWN_SITE)))
    return sorted(items, key=lambda item: (item.id, item.image))


def load_item(item: CovidItem, options: BuildOptions) -> Record | Skipped:
    """Decode one PNG into a record (grayscale, stored size)."""
    return binary_image_record(TASK, item.id, item.image, group=item.stem, site=item.site, label=item.label,
                               size=options.image_size)


def _dataset_folder(root: Path) -> Path:
    for candidate in (root, root / DATASET_FOLDER):
        if all((candidate / folder / "images").is_dir() for folder, _ in CLASSES):
            return candidate
    folders = " and ".join(f"{folder}/images" for folder, _ in CLASSES)
    raise DatasetNotFoundError(f"{root} has no {folders} folders.",
                               hint=f"point --source at the unzipped {DATASET_FOLDER} folder")


def _metadata_sites(path: Path) -> dict[str, str]:
    """Lower-cased file stem -> site, from one ``<class>.metadata.xlsx`` ({} when the sheet is absent).

    File names are matched without extension and case (``Normal.metadata.xlsx`` names ``NORMAL-1`` for
    ``Normal-1.png``).
    """
    if not path.is_file():
        return {}
    import pandas as pd

    try:
        sheet = pd.read_excel(path, dtype=str, engine="openpyxl")
    except Exception as error:  # noqa: BLE001  (openpyxl raises many types for a broken workbook)
        raise DatasetNotFoundError(f"Cannot read {path}: {error_reason(error)}.",
                                   hint="re-download the COVID-19 Radiography Database") from None
    columns = {str(column).strip().upper(): column for column in sheet.columns}
    if "FILE NAME" not in columns or "URL" not in columns:
        raise DatasetNotFoundError(f"{path} has columns {list(sheet.columns)}, not FILE NAME, FORMAT, SIZE, URL.",
                                   hint="re-download the COVID-19 Radiography Database")
    sites: dict[str, str] = {}
    for name, url in zip(sheet[columns["FILE NAME"]], sheet[columns["URL"]]):
        if isinstance(name, str) and name.strip():
            sites.setdefault(_IMAGE_SUFFIX.sub("", name.strip()).lower(), site_from_url(url))
    return sites

