#!/usr/bin/env bash
# Set up roadloop on a fresh Debian machine: system GL libraries, a virtual env in .venv, the package.
# Idempotent; a second run with nothing to do takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

# Headless OpenGL for the renderer (sim/render/backend.py): EGL through Mesa (libegl1, libegl-mesa0,
# libgl1-mesa-dri: software llvmpipe on a machine with no GPU), else OSMesa (libosmesa6).
SYSTEM_PACKAGES="libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libosmesa6 libglib2.0-0"
missing=""
for p in $SYSTEM_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null; then
    echo "roadloop setup: no apt-get; install the equivalents of these Debian packages:$missing" >&2
  elif [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "roadloop setup: missing system packages:$missing (install them with apt-get as root)" >&2
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q torch==2.13.0

# PyOpenGL: pyrender 0.1.45 pins PyOpenGL==3.1.0, whose OSMesa binding lacks OSMesaCreateContextAttribs,
# which pyrender's OSMesa platform calls; OSMesa works from 3.1.7. pip rejects pyrender with a newer
# PyOpenGL in one resolve, so 3.1.10 is installed in a separate step after the package (pip then warns
# about pyrender's pin: expected). EGL works with 3.1.10 too. Because `pip install -e .` puts 3.1.0 back
# every time it runs, it only runs when pyproject.toml changed since the last set-up (stamp in .venv).
PYOPENGL=3.1.10
STAMP=.venv/.roadloop-setup
want="$(sha256sum pyproject.toml | cut -d' ' -f1) pyopengl=$PYOPENGL"
version() { .venv/bin/python -c "from importlib.metadata import version; print(version('$1'))" 2>/dev/null || true; }
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ] || [ -z "$(version roadloop)" ] || [ -z "$(version pyrender)" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
fi
if [ "$(version PyOpenGL)" != "$PYOPENGL" ]; then
  # pip's only output on success is its complaint about pyrender's pin: shown only on failure
  if ! out=$(.venv/bin/python -m pip install -q "pyopengl==$PYOPENGL" 2>&1); then
    echo "$out" >&2
    exit 1
  fi
fi
echo "$want" > "$STAMP"
