"""Evaluation: pure retrieval metrics (``metrics``); paper protocols will live in ``eval/protocols/``."""

from semspace.eval.metrics import average_precision as average_precision
from semspace.eval.metrics import mean_average_precision as mean_average_precision
from semspace.eval.metrics import precision_at_k as precision_at_k
from semspace.eval.metrics import recall_at_k as recall_at_k
from semspace.eval.metrics import recall_at_ks as recall_at_ks
from semspace.eval.metrics import relevance_matrix as relevance_matrix
from semspace.eval.metrics import retrieval_metrics as retrieval_metrics
from semspace.eval.metrics import similarity_ranking as similarity_ranking

__all__ = [
    "average_precision",
    "mean_average_precision",
    "precision_at_k",
    "recall_at_k",
    "recall_at_ks",
    "relevance_matrix",
    "retrieval_metrics",
    "similarity_ranking",
]
