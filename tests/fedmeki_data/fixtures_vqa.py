"""Writers of tiny VQA-RAD and SLAKE 1.0 folders, laid out as downloaded, with their expectations.

- :func:`write_vqa_rad`: the OSF release (``VQA_RAD Dataset Public.json`` + ``VQA_RAD Image Folder/``) with
  its full set of keys, numeric qids, an answer stored as a JSON number, answers in mixed case with stray
  spaces, several questions per image, and a question whose image is missing.
- :func:`write_data_rad`: the ``data_RAD/{trainset,testset}.json`` + ``data_RAD/images/`` reorganisation.
- :func:`write_slake`: ``Slake1.0/{train,validate,test}.json`` + ``imgs/xmlab<N>/source.jpg`` (RGB, with the
  ``mask.png`` and ``detection.json`` SLAKE ships beside it), English and Chinese questions of the same image,
  and a missing image.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def _image(path: Path, size: tuple[int, int], mode: str = "L", seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
    Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8)).save(path)  # L or RGB from the shape


def _rad_entry(qid, image_name, question, answer, answer_type="CLOSED", organ="HEAD", question_type="PRES"):
    return {
        "qid": qid, "phrase_type": "freeform", "qid_linked_id": f"linked-{qid}",
        "image_case_url": "https://medpix.nlm.nih.gov/case?id=00000000", "image_name": image_name,
        "image_organ": organ, "evaluation": "not evaluated", "question": question, "question_rephrase": "NULL",
        "question_relation": "NULL", "question_frame": "NULL", "question_type": question_type, "answer": answer,
        "answer_type": answer_type,
    }


def write_vqa_rad(root: Path) -> dict:
    """Write the OSF VQA-RAD release into ``root``; return the expected records and skips."""
    images = root / "VQA_RAD Image Folder"
    _image(images / "synpic54610.jpg", (96, 80), seed=1)
    _image(images / "synpic29263.jpg", (64, 64), seed=2)
    entries = [
        _rad_entry(2, "synpic29263.jpg", "How many lesions are there?", 2, "OPEN", "CHEST", "COUNT"),
        _rad_entry(0, "synpic54610.jpg", "Are regions of the brain infarcted?", "Yes"),
        _rad_entry(1, "synpic54610.jpg", " Which side is the lesion on? ", " Left  Hemisphere ", "OPEN"),
        _rad_entry(3, "synpic99999.jpg", "Is this an MRI?", "no"),  # image not in the folder
    ]
    (root / "VQA_RAD Dataset Public.json").write_text(json.dumps(entries, indent=4), encoding="utf-8")
    (root / "VQA_RAD Dataset Public.xlsx").write_bytes(b"not read")
    return {
        "records": {
            "vqarad-0": ("synpic54610.jpg", "Are regions of the brain infarcted?", "yes"),
            "vqarad-1": ("synpic54610.jpg", "Which side is the lesion on?", "left hemisphere"),
            "vqarad-2": ("synpic29263.jpg", "How many lesions are there?", "2"),
        },
        "skipped": {"vqarad-3": "missing image"},
    }


def write_data_rad(root: Path) -> dict:
    """Write the ``data_RAD`` reorganisation into ``root/data_RAD``; return the expected records."""
    folder = root / "data_RAD"
    _image(folder / "images" / "synpic100132.jpg", (70, 90), seed=3)
    _image(folder / "images" / "synpic100176.jpg", (50, 50), seed=4)
    keep = ("qid", "image_name", "image_organ", "answer", "answer_type", "question_type", "question", "phrase_type")

    def entry(*args, **kwargs):
        full = _rad_entry(*args, **kwargs)
        return {key: full[key] for key in keep}

    train = [entry(11, "synpic100132.jpg", "Is there a pneumothorax?", "No"),
             entry(12, "synpic100176.jpg", "What organ is shown?", "Lung", "OPEN", "CHEST", "ORGAN")]
    # The test file repeats question 12 verbatim (left out) and reuses qid 11 for another question.
    test = [entry(12, "synpic100176.jpg", "What organ is shown?", "Lung", "OPEN", "CHEST", "ORGAN"),
            entry(11, "synpic100176.jpg", "Is this a chest x-ray?", "yes")]
    (folder / "trainset.json").write_text(json.dumps(train), encoding="utf-8")
    (folder / "testset.json").write_text(json.dumps(test), encoding="utf-8")
    return {
        "records": {
            "vqarad-11": ("synpic100132.jpg", "Is there a pneumothorax?", "no"),
            "vqarad-11-2": ("synpic100176.jpg", "Is this a chest x-ray?", "yes"),
            "vqarad-12": ("synpic100176.jpg", "What organ is shown?", "lung"),
        },
        "skipped": {},
    }


def _slake_entry(qid, img_id, question, answer, lang="en", answer_type="OPEN", content_type="Organ"):
    return {
        "img_id": img_id, "img_name": f"xmlab{img_id}/source.jpg", "question": question, "answer": answer,
        "q_lang": lang, "location": "Abdomen", "modality": "CT", "answer_type": answer_type, "base_type": "vqa",
        "content_type": content_type, "triple": ["vhead", "_", "_"], "qid": qid,
    }


def write_slake(root: Path, *, nested: bool = True) -> dict:
    """Write SLAKE 1.0 into ``root/Slake1.0`` (or ``root`` itself when not ``nested``); return expectations."""
    folder = root / "Slake1.0" if nested else root
    for img_id, seed in ((1, 5), (102, 6)):
        _image(folder / "imgs" / f"xmlab{img_id}" / "source.jpg", (80, 80), mode="RGB", seed=seed)
        _image(folder / "imgs" / f"xmlab{img_id}" / "mask.png", (80, 80), seed=seed + 10)
        (folder / "imgs" / f"xmlab{img_id}" / "detection.json").write_text("[]", encoding="utf-8")
    splits = {
        "train.json": [_slake_entry(0, 1, "Which organ is abnormal?", "Liver"),
                       _slake_entry(1, 1, "哪个器官不正常？", "肝脏", lang="zh")],
        "validate.json": [_slake_entry(5, 102, "Does the picture contain kidney?", "Yes", answer_type="CLOSED"),
                          _slake_entry(6, 102, "图片中包含肾脏吗？", "是的", lang="zh", answer_type="CLOSED")],
        "test.json": [_slake_entry(9, 102, "What modality is used to take this image?", "CT",
                                   content_type="Modality"),
                      _slake_entry(10, 7, "Where is the brain?", "Top"),  # imgs/xmlab7 does not exist
                      _slake_entry(11, 102, "这张图片是用什么方式拍摄的？", "CT", lang="zh")],
    }
    for name, entries in splits.items():
        (folder / name).write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    return {
        "records": {
            "slake-0": ("xmlab1/source.jpg", "Which organ is abnormal?", "liver"),
            "slake-5": ("xmlab102/source.jpg", "Does the picture contain kidney?", "yes"),
            "slake-9": ("xmlab102/source.jpg", "What modality is used to take this image?", "ct"),
        },
        "skipped": {"slake-10": "missing image"},
        "chinese": ["slake-1", "slake-6", "slake-11"],
    }
