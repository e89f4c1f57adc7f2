"""`python -m flake8_graphfree` runs graphfree-fix (for nbqa and users without the script on PATH)."""
import sys

from .adapters.cli import main

sys.exit(main())
