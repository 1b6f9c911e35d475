"""Index family: FAISS vectors + SQLite metadata in one folder (DESIGN §5); ``retrieval.indexing`` fills it.

``EmbeddingIndex`` is the folder (``create``/``open``/``add``/``search``/``save``/``check_model``),
``FaissIndex`` the factory-string vector index, ``ExactIndex``/``exact_knn`` the brute-force ground truth
(and the fallback without faiss), ``ItemStore``/``ModelInfo`` the SQLite metadata.
"""

from semspace.index.embedding_index import EmbeddingIndex as EmbeddingIndex
from semspace.index.exact import ExactIndex as ExactIndex
from semspace.index.exact import exact_knn as exact_knn
from semspace.index.factory_choice import FactoryChoice as FactoryChoice
from semspace.index.factory_choice import choose_factory as choose_factory
from semspace.index.faiss_index import HAVE_FAISS as HAVE_FAISS
from semspace.index.faiss_index import FaissIndex as FaissIndex
from semspace.index.store import ItemStore as ItemStore
from semspace.index.store import ModelInfo as ModelInfo

__all__ = [
    "HAVE_FAISS",
    "EmbeddingIndex",
    "ExactIndex",
    "FactoryChoice",
    "FaissIndex",
    "ItemStore",
    "ModelInfo",
    "choose_factory",
    "exact_knn",
]
