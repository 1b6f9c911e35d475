"""``python -m semspace ...`` (also what ``torchrun -m semspace train ...`` runs)."""

import sys

from semspace.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
