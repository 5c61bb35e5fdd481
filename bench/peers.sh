#!/usr/bin/env bash
# Build the peers' virtual env for the step-rate benchmark: bench/.peers/venv with MetaDrive and
# highway-env, kept apart from roadloop's own .venv. Idempotent: a second run only checks.
#
# MetaDrive downloads its assets on first use; with no network it would fail. State-only it runs
# without them once its package's assets/ folder holds version.txt (its version) and one texture
# file it opens at start-up; this script creates both (the texture as an empty file).
set -euo pipefail
cd "$(dirname "$0")"

METADRIVE_VERSION=0.4.3
HIGHWAY_ENV_VERSION=1.12.1
TORCH_VERSION=2.13.0          # only if something asks for torch: the local CPU wheel, never CUDA
VENV=.peers/venv
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
PIP="$VENV/bin/python -m pip"

t0=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
  $PIP install -q --upgrade pip
fi

wanted="metadrive-simulator==$METADRIVE_VERSION highway-env==$HIGHWAY_ENV_VERSION"
if ! $VENV/bin/python - "$METADRIVE_VERSION" "$HIGHWAY_ENV_VERSION" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(version("metadrive-simulator") != sys.argv[1] or version("highway-env") != sys.argv[2])
EOF
then
  # Look before installing: if the resolver would pull torch, install the pinned CPU wheel first
  # so that an unpinned torch (a multi-GB CUDA build) is never downloaded.
  report=$(mktemp)
  $PIP install -q --dry-run --report "$report" $wanted
  if $VENV/bin/python -c "import json,sys; r=json.load(open(sys.argv[1])); \
sys.exit(not any(i['metadata']['name'].lower()=='torch' for i in r['install']))" "$report"; then
    echo "peers.sh: a peer needs torch; installing torch==$TORCH_VERSION (CPU) first"
    $PIP install -q "torch==$TORCH_VERSION"
  fi
  rm -f "$report"
  $PIP install -q $wanted
fi

# Make MetaDrive run state-only without downloading its assets.
$VENV/bin/python - <<'EOF'
import os
from importlib.metadata import version
from importlib.util import find_spec

pkg = os.path.dirname(find_spec("metadrive").origin)
assets = os.path.join(pkg, "assets")
texture = os.path.join(assets, "textures", "grass1", "GroundGrassGreen002_COL_1K.jpg")
os.makedirs(os.path.dirname(texture), exist_ok=True)
with open(os.path.join(assets, "version.txt"), "w") as f:
    f.write(version("metadrive-simulator"))
if not os.path.exists(texture):
    open(texture, "wb").close()
EOF

echo "peers.sh: $VENV ready in $(( $(date +%s) - t0 )) s ($(du -sh "$VENV" | cut -f1))"
