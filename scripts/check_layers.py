"""Checks the one-way layers contract (``.importlinter``) with import-linter.

import-linter reads a package from one directory, but ``setup.py`` maps the repository's
top-level folders under ``robustfx`` with ``package_dir``. This lays the folders out as an
installed package (a copy in a temporary directory, read from setup.py's own mapping) and
runs ``lint-imports`` on it. ``extra_files`` lets a test add a module, e.g. a deliberately
wrong import, to prove the contract can fail.

Usage: python scripts/check_layers.py   (exit 0 when every contract is kept)
"""

import ast
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def package_dirs(root: str = ROOT) -> Dict[str, str]:
    """setup.py's ``_SUBPACKAGES`` mapping (subpackage -> folder), read without running it."""
    with open(os.path.join(root, "setup.py")) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_SUBPACKAGES":
            return ast.literal_eval(node.value)
    raise RuntimeError("setup.py has no _SUBPACKAGES mapping")


def check_layers(root: str = ROOT, extra_files: Optional[Dict[str, str]] = None):
    """Runs lint-imports on the laid-out package; returns the CompletedProcess."""
    with tempfile.TemporaryDirectory(prefix="layers-") as scratch:
        package = os.path.join(scratch, "robustfx")
        shutil.copytree(os.path.join(root, "robustfx"), package)
        for name, folder in sorted(package_dirs(root).items(), key=lambda kv: kv[0].count(".")):
            target = os.path.join(package, *name.split("."))
            os.makedirs(target, exist_ok=True)
            for file in os.listdir(os.path.join(root, folder)):
                if file.endswith(".py"):
                    shutil.copy(os.path.join(root, folder, file), target)
        for relative, text in (extra_files or {}).items():
            with open(os.path.join(package, relative), "w") as f:
                f.write(text)
        env = {**os.environ, "PYTHONPATH": scratch}
        lint = os.path.join(os.path.dirname(sys.executable), "lint-imports")
        return subprocess.run(
            [lint, "--config", os.path.join(root, ".importlinter"), "--no-cache"],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
        )


if __name__ == "__main__":
    result = check_layers()
    print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
    sys.exit(result.returncode)
