"""The shallow image-text baselines every CHTN paper reports: CCA and semantic matching, on any paired data set.

* **CCA** (Hotelling 1936; the cross-modal retrieval form of Rasiwasia et al., ACM MM 2010): each modality
  standardised and reduced by PCA to ``dims`` components (fit on the training pairs), then scikit-learn's CCA with
  C - 1 components; retrieval is cosine between the canonical projections.
* **Semantic matching** (SM, Rasiwasia et al. 2010): one multinomial logistic regression per modality (inverse L2
  strength ``C``) on the standardised inputs; each item is represented by its class posterior (C-d) and retrieval
  is cosine between posteriors, the same protocol as CHTN's softmax(fc10).

Inputs (``pair_arrays``): image features and text features of the pairs, read from a feature loader
(``features(modality)``: the ``img`` and ``txt`` arrays of ``wikipedia_xmodal``, ``pascal_sentences``,
``nus_wide_10k``, ``features``), or from items whose ``features`` hold ``img`` (``frozen_features`` of an image
set) with captions (``texts``) turned into a bag of words over the training captions' 3000 most frequent words,
``log(1 + count)`` (CHTN's text input). Scores: CHTN's MAP@all, image->text, text->image and their mean
(``eval.protocols.cross_modal_map``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from semspace.data.tokenizer import WordTokenizer, tokenize
from semspace.errors import DataError
from semspace.eval.protocols.cross_modal_map import cross_modal_map
from semspace.types import FEATURES

IMAGE_MODALITY, TEXT_MODALITY = "img", "txt"
BOW_WORDS = 3000


def feature_modalities(ds: Any) -> tuple[str, ...] | None:
    """The modalities of a feature loader (``modalities()``), or None for a data set of another kind."""
    mods = getattr(ds, "modalities", None)
    feats = getattr(ds, "features", None)
    if not (callable(mods) and callable(feats)):
        return None
    try:
        return tuple(mods())
    except (AttributeError, TypeError):
        return None


def pair_arrays(ds: Any) -> tuple[np.ndarray, np.ndarray | list[str], np.ndarray]:
    """(image features (N, F_i), text features (N, F_t) or the N captions, labels (N,)) of a paired set.

    Raises:
        DataError: a feature set without ``img``/``txt`` modalities, or a set with neither features nor captions.
    """
    labels = np.asarray(ds.labels).reshape(-1)  # (N,)
    mods = feature_modalities(ds)
    if mods is not None:
        missing = [m for m in (IMAGE_MODALITY, TEXT_MODALITY) if m not in mods]
        if missing:
            raise DataError(f"{type(ds).__name__}: the baselines read paired modalities 'img' and 'txt' (arrays "
                            f"<split>_img, <split>_txt); this split has {list(mods)}")  # fmt: skip
        return ds.features(IMAGE_MODALITY), ds.features(TEXT_MODALITY), labels
    texts = getattr(ds, "texts", None)
    if texts is None:
        raise DataError(f"{type(ds).__name__}: the baselines need image-text pairs: feature arrays img/txt "
                        "(a feature loader) or images with captions (texts)")  # fmt: skip
    first = ds[0][FEATURES] if len(ds) else None
    if not (isinstance(first, dict) and IMAGE_MODALITY in first):
        raise DataError(
            f"{type(ds).__name__}: items hold no features['img']; wrap the image pairs in frozen_features (the "
            "benchmark does) so the baselines read the same image features"
        )
    img = np.stack([np.asarray(ds[i][FEATURES][IMAGE_MODALITY], dtype=np.float32) for i in range(len(ds))])  # (N, F)
    return img, list(texts), labels


def bag_of_words(texts: list[str], vocab: list[str]) -> np.ndarray:
    """``log(1 + count)`` of each vocabulary word in each text, (N, V) float32."""
    col = {w: i for i, w in enumerate(vocab)}
    out = np.zeros((len(texts), len(vocab)), np.float32)
    for r, t in enumerate(texts):
        for w in tokenize(t):
            if w in col:
                out[r, col[w]] += 1
    return np.log1p(out)


def shallow_inputs(fit: Any, ev: Any) -> tuple[np.ndarray, ...]:
    """(img_fit, txt_fit, y_fit, img_ev, txt_ev, y_ev): standardised inputs, the scalers (and a captions'
    vocabulary) fit on ``fit`` only."""
    from sklearn.preprocessing import StandardScaler

    xi_f, t_f, y_f = pair_arrays(fit)
    xi_e, t_e, y_e = pair_arrays(ev)
    if isinstance(t_f, list) or isinstance(t_e, list):
        if not (isinstance(t_f, list) and isinstance(t_e, list)):
            raise DataError("the fit and evaluation sets hold different text kinds (captions vs features)")
        vocab = WordTokenizer.build(t_f, max_size=BOW_WORDS).itos[2:]
        xt_f, xt_e = bag_of_words(t_f, vocab), bag_of_words(t_e, vocab)
    else:
        xt_f, xt_e = t_f, t_e
    si, st = StandardScaler().fit(xi_f), StandardScaler().fit(xt_f)
    return si.transform(xi_f), st.transform(xt_f), y_f, si.transform(xi_e), st.transform(xt_e), y_e


def _score(img: np.ndarray, txt: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return cross_modal_map(torch.from_numpy(np.asarray(img)), torch.from_numpy(np.asarray(txt)), torch.from_numpy(y))


def cca_map(dims: int, zi_f: Any, zt_f: Any, y_f: Any, zi_e: Any, zt_e: Any, y_e: Any) -> dict[str, float]:
    """CCA after PCA to ``dims`` per modality (at most N - 1 and the text width), C - 1 canonical components."""
    from sklearn.cross_decomposition import CCA
    from sklearn.decomposition import PCA

    n = min(dims, len(y_f) - 1, zt_f.shape[1], zi_f.shape[1])
    pi, pt = PCA(n, random_state=0).fit(zi_f), PCA(n, random_state=0).fit(zt_f)
    k = max(1, min(len(np.unique(y_f)) - 1, n))  # C - 1 components
    cca = CCA(n_components=k, max_iter=2000).fit(pi.transform(zi_f), pt.transform(zt_f))
    ci, ct = cca.transform(pi.transform(zi_e), pt.transform(zt_e))
    return _score(ci, ct, y_e)


def semantic_matching_map(c: float, zi_f: Any, zt_f: Any, y_f: Any, zi_e: Any, zt_e: Any, y_e: Any) -> dict[str, float]:
    """Class posteriors of one logistic regression per modality, compared by cosine."""
    from sklearn.linear_model import LogisticRegression

    p_img = LogisticRegression(C=c, max_iter=3000).fit(zi_f, y_f).predict_proba(zi_e)  # (N, C)
    p_txt = LogisticRegression(C=c, max_iter=3000).fit(zt_f, y_f).predict_proba(zt_e)  # (N, C)
    return _score(p_img, p_txt, y_e)
