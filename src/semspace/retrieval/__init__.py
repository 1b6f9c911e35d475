"""Retrieval with a trained run: index building, search and run evaluation (orchestration, beside ``engine/``).

Everything here uses only the Task's public contract (``domains()``, ``embed``, capabilities from
``capabilities.py``), so every method's trained task is indexed, searched and evaluated the same way:

* ``build_index(run_dir, data_spec, out, domain=...)``: one collection of an index per domain;
* ``Searcher(index_dir)``: queries of any domain (by its input kind), optional modification, chosen collections;
* ``evaluate(run_dir)``: the run's paper protocol.
"""

from semspace.retrieval.evaluation import evaluate as evaluate
from semspace.retrieval.indexing import build_index as build_index
from semspace.retrieval.runs import checkpoint_path as checkpoint_path
from semspace.retrieval.runs import load_run as load_run
from semspace.retrieval.runs import model_info_for as model_info_for
from semspace.retrieval.search import Searcher as Searcher
from semspace.retrieval.search import SearchResult as SearchResult

__all__ = ["SearchResult", "Searcher", "build_index", "checkpoint_path", "evaluate", "load_run", "model_info_for"]
