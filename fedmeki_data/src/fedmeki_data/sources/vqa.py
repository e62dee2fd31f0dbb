"""``medical_vqa`` from VQA-RAD and SLAKE 1.0 (English questions), combined, as downloaded.

``--source`` may hold either source or both. Each is looked for in ``--source`` itself and in its direct
subfolders (the first folder in sorted order wins):

- VQA-RAD as published on OSF: a folder with ``VQA_RAD Dataset Public.json``, images in its
  ``VQA_RAD Image Folder/``;
- else VQA-RAD as reorganised in ``data_RAD/`` (MEVF and most VQA code): a folder with ``trainset.json``
  and/or ``testset.json``, images in its ``images/``. Both layouts hold the same questions, so when the
  public JSON is found the reorganisation is ignored (pooling them would count every question twice);
- SLAKE 1.0: a folder with ``train.json``, ``validate.json`` and/or ``test.json`` and an ``imgs/`` folder
  (or a folder named ``Slake1.0`` without it), images at ``imgs/<img_name>`` (``xmlab102/source.jpg``).

All the files of a source are pooled (FedMEKI uses the task only as a zero-shot test set). SLAKE keeps
``q_lang == "en"``: the original code mixed its Chinese questions into the English test set. Questions
are kept as given (stripped); answers are stripped, their spaces collapsed and lower-cased, as the demo's.
Ids are ``vqarad-<qid>`` and ``slake-<qid>``; an exact duplicate of an earlier question (same qid, image,
question and answer) is left out, and a qid reused for another question gets a ``-2``, ``-3``, ... suffix
in file order, so ids stay unique. Group = the image (its questions stay in one split); site = the source
(``vqa-rad`` or ``slake``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.sources.base import BuildOptions, Record, Skipped
from fedmeki_data.sources.images import stored_image

TASK = "medical_vqa"
VQA_RAD_JSON = "VQA_RAD Dataset Public.json"
VQA_RAD_IMAGES = "VQA_RAD Image Folder"
DATA_RAD_FILES = ("trainset.json", "testset.json")
DATA_RAD_IMAGES = "images"
SLAKE_FILES = ("train.json", "validate.json", "test.json")
SLAKE_IMAGES = "imgs"
SITES = {"vqarad": "vqa-rad", "slake": "slake"}
"""Id prefix of each source -> its site."""


@dataclass(frozen=True)
class VqaQuestion:
    """One question about one image, or why it cannot be used (``problem``).

    Attributes
    ----------
    id : str
        ``vqarad-<qid>`` or ``slake-<qid>``.
    site : str
        ``vqa-rad`` or ``slake``.
    image_name : str
        The image as the source names it (the record's group).
    image_path : str
        Where the image file should be.
    question, answer : str
        As in the source file (normalised on load).
    """

    id: str
    site: str
    image_name: str
    image_path: str
    question: str
    answer: str
    problem: str = ""


def list_items(root: Path, options: BuildOptions) -> list[VqaQuestion]:
    """One item per VQA-RAD question and English SLAKE question, VQA-RAD first, each by qid.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` holds neither source, or one of their JSON files cannot be read.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"No folder at {root}.", hint=_HINT)
    folders = [root] + sorted(path for path in root.iterdir() if path.is_dir())
    entries: list[tuple[str, Path, Path, int, object]] = []  # (prefix, json file, image folder, index, entry)
    official = next((folder for folder in folders if (folder / VQA_RAD_JSON).is_file()), None)
    if official is not None:
        entries += _entries("vqarad", official / VQA_RAD_JSON, official / VQA_RAD_IMAGES)
    else:
        data_rad = next((folder for folder in folders if any((folder / name).is_file() for name in DATA_RAD_FILES)),
                        None)
        for name in DATA_RAD_FILES if data_rad is not None else ():
            if (data_rad / name).is_file():
                entries += _entries("vqarad", data_rad / name, data_rad / DATA_RAD_IMAGES)
    slake = next((folder for folder in folders if _is_slake(folder)), None)
    for name in SLAKE_FILES if slake is not None else ():
        if (slake / name).is_file():
            entries += [entry for entry in _entries("slake", slake / name, slake / SLAKE_IMAGES)
                        if not isinstance(entry[4], dict) or entry[4].get("q_lang") == "en"]
    if not entries:
        raise DatasetNotFoundError(f"No VQA-RAD or SLAKE 1.0 questions under {root}.", hint=_HINT)
    return sorted(_items(entries), key=_order)


def load_item(item: VqaQuestion, options: BuildOptions) -> Record | Skipped:
    """Decode the question's image (grayscale, ``options.image_size`` square) into a record."""
    if item.problem:
        return Skipped(item.id, item.problem)
    question, answer = item.question.strip(), " ".join(item.answer.split()).lower()
    if not question:
        return Skipped(item.id, "empty question")
    if not answer:
        return Skipped(item.id, "empty answer")
    if not Path(item.image_path).is_file():
        return Skipped(item.id, f"missing image {item.image_name}")
    try:
        with Image.open(item.image_path) as image:
            cell = stored_image(image, options.image_size)
    except Exception as error:  # noqa: BLE001  (any decoding failure is a skipped record, not a crash)
        return Skipped(item.id, f"unreadable image {item.image_name}: {type(error).__name__}")
    return Record(id=item.id, group=item.image_name, site=item.site, question=question, answer=answer,
                  label=None, inputs={"image": cell})


_HINT = ("put 'VQA_RAD Dataset Public.json' with 'VQA_RAD Image Folder/' (or data_RAD/) and/or Slake1.0/ "
         "in the --source folder")


def _is_slake(folder: Path) -> bool:
    has_json = any((folder / name).is_file() for name in SLAKE_FILES)
    return has_json and ((folder / SLAKE_IMAGES).is_dir() or folder.name.lower().startswith("slake"))


def _entries(prefix: str, path: Path, images: Path) -> list[tuple[str, Path, Path, int, object]]:
    try:
        content = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DatasetNotFoundError(f"Cannot read {path}: {str(error).splitlines()[0]}.",
                                   hint="download the file again; it should hold a JSON list of questions") from None
    if not isinstance(content, list):
        raise DatasetNotFoundError(f"{path} holds a JSON {type(content).__name__}, not a list of questions.",
                                   hint="download the file again")
    return [(prefix, path, images, index, entry) for index, entry in enumerate(content)]


def _items(entries: list[tuple[str, Path, Path, int, object]]) -> list[VqaQuestion]:
    """Items in file order, exact duplicates left out and reused qids made unique."""
    items: list[VqaQuestion] = []
    seen: dict[str, list[VqaQuestion]] = {}
    for prefix, path, images, index, entry in entries:
        if not isinstance(entry, dict):
            base = f"{prefix}-{path.stem}-row{index}"
            item = VqaQuestion(base, SITES[prefix], "", "", "", "", f"not a JSON object ({type(entry).__name__})")
        else:
            qid = entry.get("qid")
            base = f"{prefix}-{qid}" if _text(qid) else f"{prefix}-{path.stem}-row{index}"
            image_name = _text(entry.get("img_name" if prefix == "slake" else "image_name"))
            item = VqaQuestion(base, SITES[prefix], image_name, str(images / image_name) if image_name else "",
                               _text(entry.get("question")), _text(entry.get("answer")),
                               "" if image_name else "no image name")
        same = seen.setdefault(base, [])
        if any(_content(other) == _content(item) for other in same):
            continue
        if same:
            item = VqaQuestion(f"{base}-{len(same) + 1}", *_content(item), item.problem)
        same.append(item)
        items.append(item)
    return items


def _content(item: VqaQuestion) -> tuple[str, str, str, str, str]:
    return item.site, item.image_name, item.image_path, item.question, item.answer


def _text(value: object) -> str:
    """A JSON value as text: VQA-RAD writes some answers and all qids as numbers."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _order(item: VqaQuestion) -> tuple:
    """VQA-RAD before SLAKE, then qids in numeric order (text qids after), then the suffix."""
    prefix, _, rest = item.id.partition("-")
    qid, _, suffix = rest.partition("-")
    numeric = qid.isdigit()
    return (list(SITES).index(prefix), not numeric, int(qid) if numeric else 0, qid,
            int(suffix) if suffix.isdigit() else 0, item.id)
