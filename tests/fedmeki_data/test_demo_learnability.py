"""The `small` demo is learnable: logistic regression on simple features beats the majority class.

Run with `-s` to see the figures.
"""

import warnings

import datasets
import numpy as np
import pytest
from PIL import Image
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fedmeki_data.synthetic.demo import build_demo
from fedmeki_data.tasks import TASKS

BINARY_TASKS = [task_id for task_id, task in TASKS.items() if task.is_binary]
_BANDS_HZ = ((0.0, 1.0), (1.0, 3.0), (3.0, 8.0), (8.0, 15.0), (15.0, 25.0), (25.0, 45.0))


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("small-demo") / "data"
    build_demo(out, size="small", tasks=BINARY_TASKS)
    return out


def image_features(images) -> np.ndarray:
    """16x16 thumbnail pixels plus a 16-bin intensity histogram."""
    rows = []
    for image in images:
        pixels = np.asarray(image.convert("L").resize((16, 16), Image.BILINEAR), dtype=np.float32) / 255
        rows.append(np.r_[pixels.ravel(), np.histogram(pixels, bins=16, range=(0, 1))[0] / pixels.size])
    return np.array(rows)


def rhythm(lead: np.ndarray) -> tuple[float, float]:
    """Mean RR interval (s) and its coefficient of variation from R peaks of one lead."""
    centred = lead - np.convolve(lead, np.ones(25) / 25, mode="same")
    threshold = 0.5 * np.abs(centred).max()
    peaks, last = [], -100
    middle = centred[1:-1]
    for i in np.flatnonzero((middle > centred[:-2]) & (middle >= centred[2:]) & (middle > threshold)):
        if i - last >= 25:  # refractory period 250 ms
            peaks.append(i)
            last = i
    rr = np.diff(peaks) / 100
    return (rr.mean(), rr.std() / rr.mean()) if len(rr) >= 2 else (np.nan, np.nan)


def ecg_features(signals: np.ndarray) -> np.ndarray:
    """Per lead: percentiles, std, mean absolute slope, spectral band powers; rhythm of lead II."""
    spectrum = np.abs(np.fft.rfft(signals - signals.mean(axis=1, keepdims=True), axis=1)) ** 2
    freqs = np.fft.rfftfreq(signals.shape[1], d=1 / 100)
    bands = [spectrum[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) for lo, hi in _BANDS_HZ]
    per_lead = [*np.percentile(signals, [2, 25, 50, 75, 98], axis=1), signals.std(axis=1),
                np.abs(np.diff(signals, axis=1)).mean(axis=1), *np.log1p(bands)]
    return np.column_stack([*per_lead, np.array([rhythm(signal[:, 1]) for signal in signals])])


def clinical_features(stays) -> np.ndarray:
    """Per variable: mean, min, max and last observed value (NaN where never observed)."""
    rows = []
    for stay in stays:
        observed = ~np.isnan(stay)
        last = np.array([col[mask][-1] if mask.any() else np.nan for col, mask in zip(stay.T, observed.T)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # variables a source never records are all-NaN
            rows.append(np.r_[np.nanmean(stay, 0), np.nanmin(stay, 0), np.nanmax(stay, 0), last])
    return np.array(rows)


def features(task_id: str, rows: datasets.Dataset) -> np.ndarray:
    modality = TASKS[task_id].modalities[0]
    if modality == "image":
        return image_features(rows["image"])
    column = rows.with_format("numpy")[:][modality]
    return ecg_features(np.asarray(column)) if modality == "ecg" else clinical_features(column)


def train_and_test(folder, task_id):
    """Training tasks: fit on all client splits, score on `test`; validation tasks: a stratified half of `test`."""
    splits = datasets.load_dataset(str(folder), task_id)
    if TASKS[task_id].role == "training":
        train = datasets.concatenate_datasets([splits[s] for s in splits if s.startswith("client_")])
        test = splits["test"]
        return (features(task_id, train), np.asarray(train["label"]),
                features(task_id, test), np.asarray(test["label"]))
    x, y = features(task_id, splits["test"]), np.asarray(splits["test"]["label"])
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, stratify=y, random_state=0)
    return x_train, y_train, x_test, y_test


@pytest.mark.slow
def test_simple_models_beat_the_majority_class(small_demo):
    print(f"\n{'task':<28}{'n_train':>8}{'n_test':>7}{'maj.acc':>9}{'acc':>7}{'bal.acc':>9}{'auroc':>7}{'f1':>6}")
    failures = []
    for task_id in BINARY_TASKS:
        x_train, y_train, x_test, y_test = train_and_test(small_demo, task_id)
        measured = ~np.isnan(x_train).all(axis=0)  # drop variables the source never records
        x_train, x_test = x_train[:, measured], x_test[:, measured]
        model = make_pipeline(SimpleImputer(), StandardScaler(),
                              LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced"))
        model.fit(x_train, y_train)
        scores = model.predict_proba(x_test)[:, 1]
        predicted = (scores >= 0.5).astype(int)
        majority = max(y_test.mean(), 1 - y_test.mean())
        accuracy = (predicted == y_test).mean()
        balanced = balanced_accuracy_score(y_test, predicted)
        auroc = roc_auc_score(y_test, scores)
        print(f"{task_id:<28}{len(y_train):>8}{len(y_test):>7}{majority:>9.3f}{accuracy:>7.3f}{balanced:>9.3f}"
              f"{auroc:>7.3f}{f1_score(y_test, predicted):>6.2f}")
        # The majority class scores 0.5 on both (and accuracy is no yardstick on imbalanced tasks).
        if not (balanced >= 0.70 and auroc >= 0.80):
            failures.append(task_id)
    assert not failures, f"not learnable enough: {failures}"
