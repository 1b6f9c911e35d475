"""``Searcher``: an index plus the model that built it, answering image, text, item and composed queries.

Composed retrieval (TIRG, arXiv:1812.07119; LTT, arXiv:1903.00793): an image query with a modification text is
embedded by the task's encoder of the query domain and modified by its composer (``task.compose``) before the
nearest-neighbour search; an empty modification is a plain image search. ``semspace search`` and the service
use this class; ``engine/indexing.py`` builds the indexes it reads.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import torch
from PIL import Image

from semspace.data.images import load_image
from semspace.data.transforms import build_transform
from semspace.engine.indexing import TEXT_DOMAIN, checkpoint_path, image_domains, model_info_for, require_preprocess
from semspace.errors import CheckpointError, ConfigError
from semspace.index import EmbeddingIndex
from semspace.tasks import load_task
from semspace.types import SearchHit
from semspace.utils.device import resolve_device

logger = logging.getLogger(__name__)


@dataclass
class SearchResult:
    """The answer to one query: ranked hits, words of the texts the model does not know, the query's domain."""

    hits: list[SearchHit]
    unknown_words: list[str] = field(default_factory=list)
    query_domain: str = ""


class Searcher:
    """An index plus the model that built it, loaded once; answers image, text, item and composed queries.

    Args:
        index_dir: the index folder.
        run_dir: the run to embed queries with (default: the checkpoint recorded in the index); it must be
            the model that built the index.
        device: where to embed queries.

    Raises:
        DataError: no index at ``index_dir``.
        CheckpointError: the recorded checkpoint is gone and no ``run_dir`` was given.
        IndexMismatchError: ``run_dir`` holds another model than the one that built the index.

    Example:
        >>> s = Searcher("runs/index")
        >>> s.search_image("photo.png", modify="make the red cube blue", k=5).hits[0].uri
    """

    def __init__(self, index_dir: str | os.PathLike[str], *, run_dir: str | os.PathLike[str] | None = None,
                 device: str = "cpu") -> None:  # fmt: skip
        self.index = EmbeddingIndex.open(index_dir)
        built = self.index.model_info
        if run_dir is None:
            ckpt = Path(built.checkpoint)
            if not ckpt.is_file():
                raise CheckpointError(
                    f"index {index_dir} was built with checkpoint {ckpt}, which no longer exists; "
                    "pass --run-dir with the run that built it"
                )
        else:
            ckpt = checkpoint_path(run_dir)
        self.task, _ = load_task(ckpt)
        self.device = resolve_device(device)
        self.task.to(self.device).eval()
        self.index.check_model(model_info_for(ckpt, self.task))
        self.preprocess = require_preprocess(self.task)
        self.transform = build_transform(self.preprocess)
        counts = self.index.store.domain_counts()
        embeddable = [d for d in counts if d in image_domains(self.task)]
        self.default_domain = embeddable[0] if embeddable else image_domains(self.task)[-1]

    def search_image(
        self,
        image: str | os.PathLike[str] | BinaryIO | Image.Image,
        *,
        modify: str | None = None,
        k: int = 10,
        query_domain: str | None = None,
    ) -> SearchResult:
        """Nearest items to an image (any mode or size), optionally modified by a text (composed retrieval).

        Args:
            image: a path, a binary stream or a ``PIL.Image``.
            modify: a modification ("make the red cube blue"); empty or blank means a plain image search.
            k: number of results.
            query_domain: the domain whose encoder embeds the image (default: the index's main domain).
        """
        dom = self._image_domain(query_domain)
        if not isinstance(image, Image.Image):
            image = load_image(image, background=self.preprocess.background, channels=self.preprocess.channels)
        x = self.transform(image)[None].to(self.device)  # (1, C, H, W)
        with torch.no_grad():
            z = self.task.embed(dom, x)  # (1, D)
        return self._answer(z, modify, k, dom)

    def search_text(self, text: str, k: int = 10) -> SearchResult:
        """Nearest items to a text, for tasks that embed the ``text`` domain."""
        if TEXT_DOMAIN not in self.task.embedding_domains():
            raise ConfigError(f"task {self.task.name!r} does not embed text; it embeds {self.task.embedding_domains()}")
        with torch.no_grad():
            z = self.task.embed(TEXT_DOMAIN, [text])  # (1, D)
        result = self._answer(z, None, k, TEXT_DOMAIN)
        result.unknown_words = self.task.unknown_words([text])
        return result

    def search_item(self, item_id: int, modify: str | None = None, k: int = 10) -> SearchResult:
        """Nearest items to an indexed item (its stored vector), optionally modified by a text."""
        item = self.index.get_item(item_id)
        z = torch.from_numpy(self.index.reconstruct(item_id))[None].to(self.device)  # (1, D)
        return self._answer(z, modify, k, str(item["domain"]) if item else "")

    def _image_domain(self, query_domain: str | None) -> str:
        dom = query_domain or self.default_domain
        if dom not in image_domains(self.task):
            raise ConfigError(
                f"query domain {dom!r}: task {self.task.name!r} embeds images of {image_domains(self.task)}"
            )
        return dom

    def _answer(self, z: torch.Tensor, modify: str | None, k: int, dom: str) -> SearchResult:
        if k <= 0:
            raise ConfigError(f"k must be positive, got {k}")
        unknown: list[str] = []
        if modify is not None and modify.strip():
            unknown = self.task.unknown_words([modify])
            if unknown:
                logger.info("unknown word(s) in the modification, ignored by the model: %s", ", ".join(unknown))
            with torch.no_grad():
                z = self.task.compose(z, [modify])  # (1, D)
        hits = self.index.search(z.float().cpu().numpy(), k)[0]
        return SearchResult(hits=hits, unknown_words=unknown, query_domain=dom)
