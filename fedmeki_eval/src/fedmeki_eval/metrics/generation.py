"""Per-sample scores of free-text answers against one reference each.

``exact_match`` and ``token_f1`` follow SQuAD (answers normalised: lower case, no punctuation, no
articles, single spaces). ``bleu1`` is sacrebleu's sentence BLEU with unigrams only (brevity penalty
included, 13a tokenisation, lower-cased like every other metric here), ``rouge1``/``rougeL`` are rouge-
score F-measures with the Porter stemmer (its tokeniser keeps only ASCII letters and digits, so non-Latin
answers score 0), and ``meteor`` is nltk's METEOR on whitespace tokens, computed only when nltk's WordNet
data is installed: nothing is ever downloaded. Scores are fractions in [0, 1]; an empty prediction scores
0 on every metric.
"""

from __future__ import annotations

import functools
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from fedmeki_eval.protocols import check_text_pairs

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer
    from sacrebleu.metrics import BLEU

GENERATION_METRICS: tuple[str, ...] = ("exact_match", "token_f1", "bleu1", "rouge1", "rougeL", "meteor")
"""Every per-sample score, in report order; ``meteor`` only where :func:`meteor_available`."""

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation, so that "The Left lung." and "left lung" count as the same answer.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        Lower-cased, without ASCII punctuation or the articles a/an/the, whitespace collapsed.

    Examples
    --------
    >>> normalize_answer("  The LEFT  lung. ")
    'left lung'
    """
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def exact_match(reference: str, prediction: str) -> float:
    """1.0 if the normalised answers are equal, else 0.0.

    Parameters
    ----------
    reference, prediction : str

    Returns
    -------
    float

    Examples
    --------
    >>> exact_match("Left lung", "the left lung.")
    1.0
    """
    return float(normalize_answer(reference) == normalize_answer(prediction))


def token_f1(reference: str, prediction: str) -> float:
    """F1 of the bag of normalised tokens (SQuAD); 1.0 when both normalise to nothing, 0.0 when one does.

    Parameters
    ----------
    reference, prediction : str

    Returns
    -------
    float

    Examples
    --------
    >>> token_f1("left lower lobe", "the left lobe")
    0.8
    """
    reference_tokens, prediction_tokens = normalize_answer(reference).split(), normalize_answer(prediction).split()
    if not reference_tokens or not prediction_tokens:
        return float(reference_tokens == prediction_tokens)
    n_common = sum((Counter(reference_tokens) & Counter(prediction_tokens)).values())
    if n_common == 0:
        return 0.0
    precision, recall = n_common / len(prediction_tokens), n_common / len(reference_tokens)
    return 2 * precision * recall / (precision + recall)


@functools.cache
def meteor_available() -> bool:
    """Whether nltk's WordNet data is installed, which METEOR needs (checked once, never downloaded).

    Returns
    -------
    bool
    """
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        return False
    return True


def generation_scores(references: Sequence[str], predictions: Sequence[str]) -> dict[str, np.ndarray]:
    """Every per-sample score of :data:`GENERATION_METRICS` (``meteor`` only when available).

    Texts are scored as given: extract the answer first (:func:`fedmeki_eval.protocols.extract_answer`).

    Parameters
    ----------
    references : sequence of str
        One reference answer per sample.
    predictions : sequence of str
        Generated answers, same length; empty (or blank) ones score 0 everywhere.

    Returns
    -------
    dict of str to ndarray of float64, shape (n,)

    Raises
    ------
    ValueError
        If the inputs are not sequences of str of the same length.

    Examples
    --------
    >>> scores = generation_scores(["left lung", "yes"], ["the left lung", ""])
    >>> scores["exact_match"].tolist(), scores["bleu1"].round(3).tolist(), scores["rouge1"].round(3).tolist()
    ([1.0, 0.0], [0.667, 0.0], [0.8, 0.0])
    """
    references, predictions = check_text_pairs(references, predictions, names=("references", "predictions"),
                                               caller="generation_scores")
    with_meteor = meteor_available()
    names = GENERATION_METRICS if with_meteor else GENERATION_METRICS[:-1]
    table = np.zeros((len(references), len(names)))
    for row, (reference, prediction) in enumerate(zip(references, predictions)):
        if prediction.strip():
            table[row] = _pair_scores(reference, prediction, with_meteor)
    return {name: table[:, column].copy() for column, name in enumerate(names)}


def _pair_scores(reference: str, prediction: str, with_meteor: bool) -> list[float]:
    """The scores of one pair, in :data:`GENERATION_METRICS` order."""
    bleu, rouge = _external_scorers()
    rouge_scores = rouge.score(reference, prediction)
    scores = [
        exact_match(reference, prediction),
        token_f1(reference, prediction),
        min(bleu.sentence_score(prediction, [reference]).score / 100, 1.0),
        rouge_scores["rouge1"].fmeasure,
        rouge_scores["rougeL"].fmeasure,
    ]
    return (scores + [_meteor(reference, prediction)]) if with_meteor else scores


@functools.cache
def _external_scorers() -> tuple[BLEU, RougeScorer]:
    """sacrebleu BLEU-1 and rouge-score ROUGE-1/L, built once (imported here: nltk takes seconds to load)."""
    from rouge_score.rouge_scorer import RougeScorer
    from sacrebleu.metrics import BLEU

    bleu = BLEU(max_ngram_order=1, effective_order=True, lowercase=True)
    return bleu, RougeScorer(["rouge1", "rougeL"], tokenizer=_StemmedTokens())


class _StemmedTokens:
    """rouge-score's default tokenisation with the Porter stemmer (``use_stemmer=True``), stems memoised.

    Implements rouge-score's ``Tokenizer`` interface (a ``tokenize`` method) and serves as the stemmer.

    Stemming is most of ROUGE's run time and short answers repeat the same few words.
    """

    def __init__(self) -> None:
        from nltk.stem.porter import PorterStemmer

        self.stem = functools.lru_cache(maxsize=1 << 16)(PorterStemmer().stem)

    def tokenize(self, text: str) -> list[str]:
        """Lower-cased ASCII alphanumeric tokens, words over 3 characters stemmed."""
        from rouge_score.tokenize import tokenize

        return tokenize(text, self)


def _meteor(reference: str, prediction: str) -> float:
    """nltk ``meteor_score([reference_tokens], prediction_tokens)`` as in the original, on whitespace tokens."""
    from nltk.corpus import wordnet
    from nltk.translate.meteor_score import meteor_score

    return meteor_score([reference.split()], prediction.split(), wordnet=wordnet)
