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

# the musician: a pop band over named chords (with its piano roll, rendered to audio), a jig, a jazz head
step $S sketch -o "$OUT/idea.mid" --style pop --chords "Am F C G" --bars 8 --seed 1 --plot "$OUT/idea.png" --force
step $S render "$OUT/idea.mid" -o "$OUT/idea.wav" --force
step $S sketch -o "$OUT/jig.mid" --style fiddle --meter 6/8 --key D --seed 1 --force
step $S sketch -o "$OUT/head.mid" --style jazz --chords "Dm7 G7 Cmaj7 A7" --program bass=32 --seed 1 --force

# the sound designer: notes from the mel VAE, WaveNet and the spectrogram GAN; a vocoded clip; style transfer
step $S synth vae -n 2 --family strings --pitch 55 --seed 1 -o "$OUT/strings.wav" --plot "$OUT/strings.png" --force
step $S synth wavenet --family flute --pitch 67 --seconds 1 --seed 1 -o "$OUT/flute.wav" --force
step $S synth gan -n 2 --family brass --seed 1 -o "$OUT/brass.wav" --force
# -n 2 wrote strings-1.wav and strings-2.wav (brass-1.wav, brass-2.wav)
step $S vocode "$OUT/strings-1.wav" -o "$OUT/strings-wavenet.wav" --seed 0 --force
step $S style "$OUT/idea.wav" "$OUT/strings-1.wav" -o "$OUT/idea-as-strings.wav" --seconds 4 --iterations 100 \
    --seed 0 --plot "$OUT/idea-as-strings.png" --force

# the librarian: genre, mood and descriptors of recordings, as a table and as CSV
step $S analyze examples/data/clip.ogg "$OUT/idea.wav" "$OUT/strings-1.wav"
step $S analyze "$OUT" --format csv -o "$OUT/analysis.csv" --force

step $S models
