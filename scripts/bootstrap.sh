#!/usr/bin/env bash
# Creates .venv/ in the repo root with Python 3.10 and the pinned package set (idempotent).
# Sourced by scripts/run and scripts/test; safe to run on its own.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.robustfx-install-stamp"

find_python310() {
  # 1. python3.10 on PATH, if it actually runs (a pyenv shim may exist but fail).
  if command -v python3.10 >/dev/null 2>&1 && python3.10 -c 'import sys' >/dev/null 2>&1; then
    command -v python3.10
    return 0
  fi
  # 2. pyenv's newest 3.10.x.
  if command -v pyenv >/dev/null 2>&1; then
    local root candidate
    root="$(pyenv root)"
    for candidate in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -V -r); do
      if "$candidate/bin/python3.10" -c 'import sys' >/dev/null 2>&1; then
        echo "$candidate/bin/python3.10"
        return 0
      fi
    done
  fi
  return 1
}

install_hash() {
  # setup.py reads the layers from .importlinter: a new layer is a new package to install.
  cat "$ROOT/constraints.txt" "$ROOT/constraints-moto.txt" "$ROOT/setup.py" "$ROOT/.importlinter" \
    | sha256sum | cut -d' ' -f1
}

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(install_hash)" ]; then
  return 0 2>/dev/null || exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  PYTHON="$(find_python310)" || {
    echo "robustfx setup: Python 3.10 not found. TFX 1.16 needs Python 3.10 exactly." >&2
    echo "Install it, e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10 python3.10-venv'," >&2
    echo "then run this command again." >&2
    exit 2
  }
  echo "robustfx setup: creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi

echo "robustfx setup: installing the pinned package set (constraints.txt); first time takes a few minutes"
"$VENV/bin/python" -m pip install --quiet "pip==26.3" "setuptools==65.5.0" "wheel==0.48.0"
"$VENV/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" -e "$ROOT[test]"
# Keras 2 in every process of .venv, including Beam SDK workers that never import robustfx.
# A wheel install gets this file from setup.py's data_files; an editable install does not.
cp "$ROOT/robustfx/robustfx-keras2.pth" \
  "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
# The tests' S3 server (moto) in a folder of its own: its dependencies (urllib3 2, a newer
# cryptography) conflict with the pinned stack. tests/helpers/s3_server.py runs it as
# PYTHONPATH=.venv/moto python -m moto.server -H 127.0.0.1 -p PORT.
rm -rf "$VENV/moto"
"$VENV/bin/python" -m pip install --quiet --no-warn-conflicts --target "$VENV/moto" \
  -c "$ROOT/constraints-moto.txt" "moto[s3]" flask flask-cors
install_hash > "$STAMP"
echo "robustfx setup: done"
