"""Where the repository's own files are, for tests that read them (scripts, workflows)."""

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
