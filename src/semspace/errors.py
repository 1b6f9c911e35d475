"""User-facing errors. The CLI and the service turn these into one clear line / a 4xx answer.

Every message says which file, key or field is wrong and what was expected.
"""


class SemspaceError(Exception):
    """Base class of the errors a user can cause (bad input, bad config, mismatched artefacts)."""


class DataError(SemspaceError):
    """A data file or folder is missing, truncated or malformed."""


class ConfigError(SemspaceError):
    """A configuration key or value is unknown or invalid."""


class CheckpointError(SemspaceError):
    """A checkpoint is missing, corrupt, or was written by an incompatible model."""


class IndexMismatchError(SemspaceError):
    """An index is queried with another model/preprocessing than the one that built it."""


class IndexBusyError(SemspaceError):
    """Another process is writing the index and the caller asked not to wait (``--no-wait``); the CLI exits 2."""

    exit_code = 2


class IndexConflictError(DataError):
    """An index changed on disk (another writer saved) between opening it and saving it: reopen and redo the change."""
