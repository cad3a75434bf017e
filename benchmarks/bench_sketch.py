"""Sketch speed (wall, start-up included) and per-style sketch quality of a band model.

    python benchmarks/bench_sketch.py                            # speed table
    python benchmarks/bench_sketch.py --quality 50               # + the per-style quality tables
    python benchmarks/bench_sketch.py --quality 50 --model rnn

Speed: ``soundart sketch --style pop -o x.mid`` (8 bars, melody + chords + bass + drums) as a
subprocess, vs ``python -c "import torch"`` (the reference: start-up alone).

Quality, per style, against *held-out* real pieces (the model's test + validation split: whole songs,
Groove sessions), 8-bar excerpts:
- held-out NLL per token and per note (from the checkpoint: measured by the recipe on its test split);
- N sketches per style (its pitched parts; drum grooves: drums): MusPy-style statistics (pitch-class
  entropy, scale consistency, pitch range, notes per bar, polyphony, groove consistency) as ratios to
  the real pieces' means ("within 15%": 0.85-1.15), the empty-beat and empty-bar rates as the two values
  (within 0.05 of each other counts), and the total variation distance between the inter-onset
  histograms (sketches vs real, next to real vs the training pieces as the yardstick);
- a style classifier (logistic regression over note statistics, no tempo or meter) trained on 8-bar
  excerpts of the *training* pieces only: its accuracy on the held-out real excerpts and the share of
  sketches it recognises as their style;
- chord control: sketches over fixed progressions (7ths and slash chords included): share of bars whose
  sounding pitch classes hold the chord's root and third, and whose bass plays the chord's (slash) bass
  on beat 1;
- key control: 10 sketches per pitched style in asked keys, Krumhansl-Schmuckler estimate == asked.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from typing import Any

import numpy as np
from benchkit import table, wall

SOUNDART = [sys.executable, "-m", "soundart"]
PROGRESSIONS = ("Am F C G", "C G/B Am F", "Dm7 G7 Cmaj7 A7", "D G A7 D", "Em C G D/F#", "Gm Eb Bb F",
                "Fmaj7 Em7 Dm7 Cmaj7", "Bm7b5 E7 Am Am")
RATES = ("empty_beat_rate", "empty_bar_rate")  # within 0.05 of the real value, not within 15% of it
KEYS = ("C major", "G major", "F major", "D major", "Bb major", "A minor", "E minor", "D minor", "G minor",
        "C minor")


def speed(repeats: int, model: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ref = wall([sys.executable, "-c", "import torch"], repeats)
        rows = [("python -c 'import torch' (reference)", ref)]
        for label, extra in (("sketch --style pop (8 bars, 4 parts, NumPy path)", []),
                             ("sketch --style pop --chords 'Am F C G' (8 bars, 4 parts)", ["--chords", "Am F C G"]),
                             ("sketch --style pop --device cpu", ["--device", "cpu"])):
            cmd = SOUNDART + ["sketch", "--model", model, "--style", "pop", "-o", f"{tmp}/x.mid", "--force",
                              "--seed", "0"] + extra
            rows.append((label, wall(cmd, repeats)))
    print(table(["command", f"median wall s ({repeats} runs)", "ratio to import torch"],
                [(label, t, t / ref) for label, t in rows]))


# ---- data -------------------------------------------------------------------------------------------
def real_pieces(doc: dict[str, Any], styles: dict[str, Any]) -> dict[str, dict[str, list]]:
    """style -> {"train": [...], "held_out": [...]} band pieces, split as the model's recipe split them."""
    from soundart.music.band_data import PITCHED_STYLES, band_pieces, drum_pieces
    from soundart.music.corpora import split_of

    data = doc["metadata"]["data_config"]
    out: dict[str, dict[str, list]] = {}
    for style in styles:
        pieces = []
        if style in PITCHED_STYLES and style in data["styles"]:
            pieces += band_pieces(style)
        if style in data.get("drum_styles", ()):
            pieces += drum_pieces(style)
        split = {"train": [], "held_out": []}
        for pid, p in pieces:
            s = split_of(pid, data["val_fraction"], data.get("test_fraction", 0.0))
            split["train" if s == "train" else "held_out"].append(p)
        out[style] = split
    return out


def excerpts(pieces: list, bars: int, rng: np.random.Generator, config: Any, per_piece: int = 1) -> list:
    from soundart.music.metrics import crop_bars

    out = []
    for p in pieces:
        if not p.notes:
            continue
        total = max(n.start for n in p.notes) // config.bar_steps(p.meter) + 1
        for _ in range(per_piece):
            start = int(rng.integers(0, max(1, total - bars + 1)))
            crop = crop_bars(p, bars, config, start)
            if crop.notes:
                out.append(crop)
    return out


def only_parts(piece: Any, keep: set[int]) -> Any:
    from soundart.music.tokens import Piece

    return Piece([n for n in piece.notes if n.program in keep], piece.meter, piece.tempo, piece.key, piece.style,
                 list(piece.chords))


# ---- the style classifier -------------------------------------------------------------------------------
def features(piece: Any, config: Any) -> np.ndarray:
    """Note statistics of a band piece (no tempo, no meter label): per part notes per bar, polyphony, mean
    and spread of pitch, duration; pitch classes relative to the key; onset positions within the bar
    (16 bins); inter-onset histogram; drum-pitch histogram; kick / snare / cymbal onsets per bar
    position; velocity."""
    from soundart.music.metrics import ioi_histogram

    bar = config.bar_steps(piece.meter)
    n_bars = max(1, max((n.start for n in piece.notes), default=0) // bar + 1)
    f: list[float] = []
    for part in range(4):
        notes = [n for n in piece.notes if n.program == part]
        pitches = np.array([n.pitch for n in notes], float) if notes else np.zeros(1)
        durs = np.array([n.duration for n in notes], float) if notes else np.zeros(1)
        onsets = len({n.start for n in notes})
        f += [len(notes) / n_bars, len(notes) / max(onsets, 1), pitches.mean() / 127, pitches.std() / 12,
              np.log1p(durs.mean()), np.log1p(durs.std())]
    pcs = np.zeros(12)
    positions = np.zeros(16)
    drums = np.zeros(16)
    kit = np.zeros((3, 16))  # kick, snare, cymbals: where in the bar each plays (per bar)
    for n in piece.notes:
        slot = min(15, int(16 * (n.start % bar) / bar))
        if n.program == 3:
            drums[min(15, max(0, n.pitch - 35) // 3)] += 1
            group = 0 if n.pitch in (35, 36) else 1 if n.pitch in (37, 38, 39, 40) else 2
            kit[group, slot] += 1 / n_bars
        else:
            pcs[(n.pitch - piece.key) % 12] += n.duration
        positions[slot] += 1
    f += list(pcs / max(pcs.sum(), 1)) + list(positions / max(positions.sum(), 1))
    f += list(drums / max(drums.sum(), 1)) + list(ioi_histogram(piece)) + list(kit.ravel())
    vel = np.array([n.velocity for n in piece.notes], float) if piece.notes else np.zeros(1)
    f += [vel.mean() / 127, vel.std() / 127]
    return np.array(f)


def style_classifier(train: dict[str, list], config: Any):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = [features(p, config) for pieces in train.values() for p in pieces]
    y = [s for s, pieces in train.items() for _ in pieces]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5, class_weight="balanced"))
    clf.fit(np.array(X), np.array(y))
    return clf


# ---- quality -------------------------------------------------------------------------------------------
def quality(n: int, model: str, seed: int, bars: int = 8) -> None:
    from soundart.music.band import default_tracks
    from soundart.music.chords import parse_progression
    from soundart.music.metrics import METRICS, band_as_gm, chord_agreement, histogram_distance, summarize
    from soundart.music.sample import load_stepper, read_codec_config
    from soundart.music.sketch import model_styles, sketch
    from soundart.music.tokens import estimate_key, key_name, parse_key

    _, doc, _ = load_stepper(model, "auto")
    codec = read_codec_config(doc)
    config, parts = codec.config, codec.config.parts
    styles = model_styles(doc, codec)
    rng = np.random.default_rng(seed)
    real = real_pieces(doc, styles)
    pitched = [s for s, i in styles.items() if i.pitched]
    grooves = [s for s, i in styles.items() if not i.pitched]

    def style_parts(style: str) -> list[str]:
        info = styles[style]
        if not info.pitched:
            return ["drums"]
        return [p for p in default_tracks(style, info.parts) if p != "drums"]

    def kept(style: str) -> set[int]:
        return {parts.index(p) for p in style_parts(style)}

    t0 = time.perf_counter()
    made: dict[str, list] = {}
    for style in styles:
        res = sketch(model=model, style=style, tracks=style_parts(style), bars=bars, n=n, seed=seed)
        made[style] = [r.piece for r in res]
    sketch_seconds = time.perf_counter() - t0

    # NLL + statistics ---------------------------------------------------------------------------------
    metrics_table = doc["metadata"].get("metrics", {}).get("styles", {})
    print(f"\n## {model}: per-style held-out NLL and statistics ({n} sketches of {bars} bars per style, "
          f"{sketch_seconds:.0f} s; real = 8-bar excerpts of held-out pieces)\n")
    head = ["style", "NLL/token", "NLL/note", "held-out pieces"] + [m for m in METRICS] + ["IOI TV (real vs train)",
                                                                                          "within 15%"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    summary_rows = {}
    for style in styles:
        held = [only_parts(p, kept(style)) for p in excerpts(real[style]["held_out"], bars, rng, config)]
        train_ex = [only_parts(p, kept(style)) for p in excerpts(real[style]["train"][:300], bars, rng, config)]
        if not held:
            print(f"| {style} | no held-out pieces |")
            continue
        g = summarize([band_as_gm(p, parts) for p in made[style]], config)
        r = summarize([band_as_gm(p, parts) for p in held], config)
        cells, hits, total = [], 0, 0
        for m in METRICS:
            if np.isnan(g[m][0]) or np.isnan(r[m][0]):
                cells.append("-")
                continue
            total += 1
            if m in RATES:  # a ratio of two rates near 0 says little: these are compared in absolute terms
                hits += abs(g[m][0] - r[m][0]) <= 0.05
                cells.append(f"{g[m][0]:.3f} vs {r[m][0]:.3f}")
                continue
            ratio = g[m][0] / r[m][0]
            hits += abs(ratio - 1) <= 0.15
            cells.append(f"{ratio:.2f}")
        tv = histogram_distance(made[style], held)
        tv_ref = histogram_distance(train_ex, held) if train_ex else float("nan")
        row = metrics_table.get(style, {})
        summary_rows[style] = (hits, total)
        print(f"| {style} | {row.get('test_nll_per_token', '-')} | {row.get('test_nll_per_note', '-')} | "
              f"{len(real[style]['held_out'])} | " + " | ".join(cells) + f" | {tv:.3f} ({tv_ref:.3f}) | "
              f"{hits}/{total} |")

    # style classifier -----------------------------------------------------------------------------------
    print("\n## Style classifier (logistic regression on note statistics, trained on training pieces only)\n")
    print("| family | style | real held-out accuracy | sketches recognised |")
    print("|---|---|---|---|")
    for family, names in (("pitched", pitched), ("drums", grooves)):
        if len(names) < 2:
            continue
        train = {s: [only_parts(p, kept(s)) for p in excerpts(real[s]["train"], bars, rng, config, 3)][:1500]
                 for s in names}
        clf = style_classifier(train, config)
        for s in names:
            held = [only_parts(p, kept(s)) for p in excerpts(real[s]["held_out"], bars, rng, config, 2)]
            acc = np.mean(clf.predict(np.array([features(p, config) for p in held])) == s) if held else float("nan")
            rec = np.mean(clf.predict(np.array([features(p, config) for p in made[s]])) == s)
            print(f"| {family} | {s} | {acc:.2f} ({len(held)}) | {rec:.2f} ({len(made[s])}) |")

    # chord control -------------------------------------------------------------------------------------
    print(f"\n## Chord control ({len(PROGRESSIONS)} progressions x 3 sketches of 8 bars per style, all its "
          "pitched parts)\n")
    print("| style | bars with root + third | bass on the chord's bass, beat 1 |")
    print("|---|---|---|")
    for s in pitched:
        tones, basses = [], []
        for i, prog in enumerate(PROGRESSIONS):
            chords = parse_progression(prog)
            full = [chords[b % len(chords)] for b in range(8)]
            tracks = [p for p in styles[s].parts if p != "drums"]
            for res in sketch(model=model, style=s, tracks=tracks, chords=prog, bars=8, n=3, seed=seed + i):
                t, b = chord_agreement(res.piece, full, parts.index("bass") if "bass" in tracks else None, config)
                tones.append(t)
                basses.append(b)
        print(f"| {s} | {np.nanmean(tones):.2f} | {np.nanmean(basses):.2f} |")

    # key control ----------------------------------------------------------------------------------------
    print("\n## Key control (10 sketches per pitched style, one per asked key)\n")
    print("| style | estimated key == asked | misses |")
    print("|---|---|---|")
    for s in pitched:
        hits, misses = 0, []
        for i, k in enumerate(KEYS):
            res = sketch(model=model, style=s, tracks=style_parts(s), key=k, bars=8, seed=seed + i)[0]
            notes = [x for x in res.piece.notes if x.program != parts.index("drums")]
            est = estimate_key([x.pitch for x in notes], [x.duration for x in notes])
            hits += est == parse_key(k)
            if est != parse_key(k):
                misses.append(f"{k} -> {key_name(est)}")
        print(f"| {s} | {hits}/10 | {'; '.join(misses[:3])} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quality", type=int, default=0, help="also measure quality with N sketches per style")
    ap.add_argument("--model", default="transformer")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    if not args.no_speed:
        speed(args.repeats, args.model)
    if args.quality:
        quality(args.quality, args.model, args.seed)


if __name__ == "__main__":
    main()
