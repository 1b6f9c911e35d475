"""The candidate classes of a sketch query, for a task that infers a sketch's class before embedding it (SSGN).

SSGN generates a photo feature from the semantics of the class it infers among candidate classes
(``tasks/ssgn_queries.py``). A search asks among the classes the searched collections of the index hold (the
``label`` of their items: a ``folder:`` source's sub-folder names, a benchmark's classes), so a chair sketch on an
index of every class is not forced into one of the classes held out at training; ``classes`` (``semspace search
--classes a,b,c``) names them instead. Index labels the run's semantics cannot embed are left out with a note;
an index without labels falls back to the run's own candidates (its unseen classes, else its label space), also
with a note. The labels are read once per generation and collection set (``Searcher`` keeps them).
"""

from __future__ import annotations

from typing import Any

from semspace.errors import ConfigError


def infers_classes(task: Any) -> bool:
    """Whether ``task`` embeds sketches against candidate classes (``embed_sketch`` and ``missing_classes``)."""
    return hasattr(task, "embed_sketch") and hasattr(task, "missing_classes")


def index_labels(index: Any, domains: list[str]) -> list[str]:
    """The distinct non-empty labels of the items of ``domains``, sorted."""
    seen: set[str] = set()
    for d in domains:
        seen |= {str(it["label"]) for it in index.iter_items(d) if str(it.get("label") or "").strip()}
    return sorted(seen)


def sketch_candidates(task: Any, labels: list[str], classes: list[str] | None) -> tuple[list[str] | None, list[str]]:
    """The candidate classes of a sketch query and the notes to give (module docstring); ``None``: the run's own.

    Raises:
        ConfigError: ``classes`` given for a task that does not infer a sketch's class.
        DataError: ``classes`` that the run cannot embed (``class_rows`` names them).
    """
    if not infers_classes(task):
        if classes:
            raise ConfigError(f"--classes applies to a task that infers a sketch's class (ssgn); task {task.name!r} "
                              "embeds sketches directly")  # fmt: skip
        return None, []
    if classes:
        task.class_rows(list(classes))  # refused here, clearly, when the semantics cannot embed a name
        return list(classes), [f"the sketch's class is inferred among the {len(classes)} class(es) given"]
    own = list(task.cfg.query_classes or task.cfg.class_names)
    if not labels:
        return None, [f"the index's items carry no class labels: the sketch's class is inferred among the run's "
                      f"{len(own)} candidate class(es) ({', '.join(own[:5])}{', ...' if len(own) > 5 else ''}); "
                      "--classes a,b,c names others"]  # fmt: skip
    missing = set(task.missing_classes(labels))
    usable = [n for n in labels if n not in missing]
    notes = []
    if missing:
        notes.append(f"{len(missing)} label(s) of the index have no side information in the run's semantics "
                     f"{task.cfg.semantics!r} and are not candidates: {sorted(missing)[:5]}")  # fmt: skip
    if not usable:
        return None, [*notes, f"the sketch's class is inferred among the run's {len(own)} candidate class(es)"]
    notes.append(f"the sketch's class is inferred among the {len(usable)} class(es) the index holds "
                 "(--classes a,b,c names others)")  # fmt: skip
    return usable, notes
