"""Feature-file fixtures in the Wikipedia benchmark's distributed layout (Rasiwasia et al., ACM MM 2010):
``raw_features.mat`` with ``I_tr``/``T_tr``/``I_te``/``T_te``, the two tab-separated category lists and
``categories.list``; and a labelled single-modal source feature file of the same image width (CHTN's source).
Shared by the tests of ``semspace bench chtn --data`` and of the documented CHTN recipes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

CATS = ["art", "biology", "geography", "history", "literature", "media", "music", "royalty", "sport", "warfare"]
IMAGE_WIDTH = 128  # the SIFT bag-of-words width of the distributed image features


def wikipedia_folder(root: Path, n_train: int = 6, n_test: int = 4) -> Path:
    """The Wikipedia folder as Rasiwasia et al. distribute it, with a class signal in both modalities: image rows
    are SIFT-like bag-of-words counts (128 words) drawn around a per-class profile, text rows 10 LDA-like topic
    proportions leaning to a per-class topic; the lists are ``<text_id> TAB <image_id> TAB <category 1..10>``."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    profile_img = np.random.default_rng(1).random((10, IMAGE_WIDTH))  # (C, 128)

    def split(n_per: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = rng.permutation(np.repeat(np.arange(10), n_per))  # (N,)
        img = rng.poisson(6 * profile_img[y] + 0.5).astype(np.float64)  # (N, 128) counts
        txt = rng.dirichlet(np.ones(10), len(y)) * 0.4 + 0.6 * np.eye(10)[y]  # (N, 10), rows sum to 1
        return img, txt, y

    i_tr, t_tr, y_tr = split(n_train)
    i_te, t_te, y_te = split(n_test)
    scipy.io.savemat(root / "raw_features.mat", {"I_tr": i_tr, "T_tr": t_tr, "I_te": i_te, "T_te": t_te})
    for name, y in (("trainset_txt_img_cat.list", y_tr), ("testset_txt_img_cat.list", y_te)):
        (root / name).write_text("".join(f"{i:032x}\t{i + 5000:032x}\t{c + 1}\n" for i, c in enumerate(y)))
    (root / "categories.list").write_text("\n".join(CATS) + "\n")
    return root


def source_features(path: Path, n_classes: int = 6, per_class: int = 10) -> Path:
    """A labelled source feature file (``features`` loader, npz): ``train_img`` (N, 128) counts and
    ``train_labels`` (N,) in 0..n_classes-1, ``per_class`` rows of each class."""
    rng = np.random.default_rng(5)
    n = n_classes * per_class
    np.savez(path, train_img=rng.poisson(3.0, (n, IMAGE_WIDTH)).astype(np.float32),
             train_labels=np.repeat(np.arange(n_classes), per_class))  # fmt: skip
    return path
