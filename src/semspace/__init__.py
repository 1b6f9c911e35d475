"""semspace: cross-domain retrieval and translation in a shared semantic space."""

from semspace.version import __version__ as __version__
