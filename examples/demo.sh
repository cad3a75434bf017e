#!/usr/bin/env bash
# `make demo`: the main jobs on the shipped default models, outputs in demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
S=.venv/bin/soundart
OUT=demo-out
mkdir -p "$OUT"
step() { printf '\n$ %s\n' "$*"; "$@"; }

# the spectral pipeline on the bundled example clip, with a picture
step $S features examples/data/clip.ogg --kind logmel --out "$OUT/clip-logmel.npy" --plot "$OUT/clip-logmel.png" --force
step $S features examples/data/clip.ogg --kind chroma --out "$OUT/clip-chroma.npy" --plot "$OUT/clip-chroma.png" --force
step $S invert "$OUT/clip-logmel.npy" -o "$OUT/clip-resynth.wav" --seed 0 --force
step $S models
