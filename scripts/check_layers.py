"""Checks the package layout against the one list of layers, and the import contracts.

``.importlinter`` lists the layers; ``setup.py`` installs every Python package under each
layer's folder as ``robustfx.<layer>...`` through ``package_dir``; the image copies the
repository but what ``.dockerignore`` leaves out. This reads what setuptools would put in the
wheel (``build_py``'s modules, computed from setup.py without building anything) and
compares it with the Python files of the tree, so a folder missing from the layers, or one
without an ``__init__.py``, is found here and not in a broken wheel or image; the editable
install, which imports any file under a mapped folder, cannot show it.

The contracts are then checked on exactly the wheel's modules: import-linter reads a package
from one directory, so they are laid out as the installed package in a temporary directory.
``extra_files`` lets a test add a module, e.g. a deliberately wrong import, to prove a
contract can fail.

Usage: python scripts/check_layers.py   (exit 0 when the wheel holds every Python file of
the tree and every contract is kept)
"""

import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wheel_modules(root: str = ROOT) -> Dict[str, str]:
    """Each module of the wheel (``robustfx/base/x.py``) -> its source file, relative to
    ``root``, as setuptools' ``build_py`` collects them from setup.py."""
    from distutils.core import run_setup  # setuptools' own, as in pip's build

    here = os.getcwd()
    os.chdir(root)  # setup.py reads its files relative to the repository root, as in pip
    try:
        build_py = run_setup("setup.py", stop_after="init").get_command_obj("build_py")
        build_py.ensure_finalized()
        modules = build_py.find_all_modules()
    finally:
        os.chdir(here)
    return {
        "/".join([*package.split("."), f"{module}.py"]): _posix(source)
        for package, module, source in modules
    }


def _posix(path: str) -> str:
    return os.path.normpath(path).replace(os.sep, "/")


def image_excludes(root: str = ROOT) -> List[str]:
    """The patterns of ``.dockerignore``: what the image's build context leaves out."""
    with open(os.path.join(root, ".dockerignore")) as f:
        lines = [line.strip() for line in f]
    return [line for line in lines if line and not line.startswith("#")]


def excluded(path: str, patterns: List[str]) -> bool:
    """Whether ``.dockerignore`` leaves out ``path`` (relative to the root, '/'-separated):
    a pattern matches the path or one of its parents; ``**/`` matches at any depth."""
    parts = path.split("/")
    parents = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch.fnmatchcase(parent, pattern.rstrip("/")) for parent in parents):
            return True
    return False


def tree_python_files(root: str = ROOT) -> Set[str]:
    """Every Python file in a folder that the image receives, relative to ``root``."""
    patterns = image_excludes(root)
    found = set()
    for folder, dirs, names in os.walk(root):
        relative = _posix(os.path.relpath(folder, root))
        prefix = "" if relative == "." else f"{relative}/"
        dirs[:] = [d for d in dirs if not excluded(prefix + d, patterns)]
        if prefix:  # a file at the root (setup.py) is the build's, not the package's
            found.update(prefix + name for name in names if name.endswith(".py"))
    return found


def unshipped(root: str = ROOT) -> List[str]:
    """Python files the image receives that the wheel would not hold."""
    return sorted(tree_python_files(root) - set(wheel_modules(root).values()))


def check_layers(root: str = ROOT, extra_files: Optional[Dict[str, str]] = None):
    """Runs lint-imports on the wheel's modules, laid out as the installed package (plus
    ``extra_files``, relative to the package); returns the CompletedProcess."""
    with tempfile.TemporaryDirectory(prefix="layers-") as scratch:
        for module, source in wheel_modules(root).items():
            target = os.path.join(scratch, module)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(os.path.join(root, source), target)
        for relative, text in (extra_files or {}).items():
            path = os.path.join(scratch, "robustfx", relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
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
    missing = unshipped()
    for path in missing:
        print(f"not in the wheel: {path} (its folder is in no layer, or has no __init__.py)")
    result = check_layers()
    print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
    sys.exit(1 if missing else result.returncode)
