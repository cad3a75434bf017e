"""WaveNet speed and vocoder quality, in one run, as a table.

Rows:
1. fast (cached queues, numba step) vs naive (recompute the receptive field per sample)
   generation with the default generator, batch 1: both timed over the same first
   ``receptive_field + --naive-extra`` samples (measured ratio), and 1 s of 16 kHz audio
   (fast measured; naive extrapolated from its measured per-sample cost at a full
   receptive field, which every sample after the first ``receptive_field`` pays).
2. real-time factor of the fast path at batch 1 and batch 8 (median of --repeats runs;
   wall clock, and process CPU time, since this CPU is shared); with a CUDA device, the
   Triton step's aggregate real-time factor at batch --gpu-batch (64: the issue's bar is 50x),
   and the vocoder's there, plainly and with its search.
3. whether the generator plays the pitch it is asked for: the median pyin f0 of 1 s notes of every
   family at MIDI 48, 60 and 72, within 50 cents of the asked pitch, against real held-out (test)
   notes at those pitches measured the same way; and how many of those clips are near silent
   (RMS under 0.01, about -40 dBFS), and how clean they are: the median harmonic-to-noise ratio
   (energy within 3% of the asked pitch's harmonics against the rest, 60 Hz - 7.5 kHz, 0.1-0.9 s);
   at the model's sampling temperature unless --pitch-temperatures, for each of --pitch-seeds.
4. vocoder: log-mel L1 (dB) against the original held-out notes (test split: programs
   never seen in training) of WaveNet-vocoded audio (its mel-guided beam search at --beam paths,
   the default ``soundart vocode`` uses, and plain sampling) vs 64-iteration Griffin-Lim from the same mel;
   beside them, the originals' own L1 after an 8-bit mu-law round trip (what an 8-bit output
   costs even when it samples the note exactly; the 16-bit logistic-mixture output avoids it),
   and for a vocoder with linear prediction its own floor: the original's excitation through
   its 8-bit codes and back through the all-pole filters (the quantisation noise shaped too).

Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_wavenet.py [--notes data/notes]
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch
from benchkit import median_wall_cpu, table, timed

REPO = Path(__file__).resolve().parents[1]


def _load(spec: str, local: bool):
    from soundart.audio.wavenet_notes import WaveNetNotes, WaveNetNotesConfig
    from soundart.audio.wavenet_vocoder import WaveNetVocoder, WaveNetVocoderConfig
    from soundart.errors import SoundartError
    from soundart.models import load_model

    try:
        return load_model(spec, expect_kind="wavenet-vocoder" if local else "wavenet-notes"), spec
    except SoundartError as exc:
        print(f"# {spec}: {exc}; timing an untrained model of the default size instead")
        torch.manual_seed(0)
        model = (WaveNetVocoder(WaveNetVocoderConfig()) if local
                 else WaveNetNotes(WaveNetNotesConfig(n_families=12, pitch_conditioning=True)))
        return model.eval(), "untrained default config"


PITCH_CHECK = (48, 60, 72)
QUIET_RMS = 0.01  # a 1 s clip below this RMS is counted near silent


def _near_silent(clips) -> int:
    """How many of ``clips`` (1-D arrays) are below ``QUIET_RMS``."""
    import numpy as np

    return sum(float(np.sqrt(np.mean(np.square(a)))) < QUIET_RMS for a in clips)


def _harmonic_to_noise_db(audio, sr: int, midi: int) -> float:
    """Energy within 3% of a harmonic of ``midi`` against the rest, 60 Hz - 7.5 kHz, in dB, over 0.1-0.9 s
    of a note (Hann window): the sampling noise between the harmonics that a WaveNet adds."""
    import librosa
    import numpy as np

    f0 = float(librosa.midi_to_hz(midi))
    x = audio[int(0.1 * sr):int(0.9 * sr)]
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freq = np.fft.rfftfreq(len(x), 1 / sr)
    band = (freq > 60) & (freq < 7500)
    k = np.round(freq / f0)
    near = (k >= 1) & (np.abs(freq - k * f0) <= 0.03 * f0)
    return float(10 * np.log10((power[band & near].sum() + 1e-12) / (power[band & ~near].sum() + 1e-12)))


def _median_hnr(clips, sr: int, pitches) -> str:
    import numpy as np

    return f"{np.median([_harmonic_to_noise_db(a, sr, p) for a, p in zip(clips, pitches)]):.1f} dB"


def _median_midi(audio, sr: int) -> float | None:
    """Median pyin pitch (MIDI) over the voiced frames, None when fewer than 3 are voiced."""
    import librosa
    import numpy as np

    f0, voiced, _ = librosa.pyin(audio, fmin=50, fmax=1200, sr=sr, frame_length=2048, hop_length=512)
    f0 = f0[voiced]
    return float(np.median(librosa.hz_to_midi(f0))) if len(f0) >= 3 else None


def _pitch_rows(model, notes_root: Path, seeds: list[int], temperatures: list[float | None]
                ) -> list[tuple[str, str, str, str]]:
    """Generated notes at the asked pitch vs real test notes at those pitches (pyin, 50 cents), how many
    of each are near silent and their median harmonic-to-noise ratio: three rows per sampling
    temperature (None: the model's) and seed."""
    import random

    from soundart.audio.notes import NotesDataset
    from soundart.audio.wavenet_generate import generate

    cfg = model.config
    label = f"generator at the asked pitch (pyin within 50 cents; MIDI {'/'.join(map(str, PITCH_CHECK))}, 1 s)"
    quiet_label = f"  of those clips near silent (RMS < {QUIET_RMS})"
    hnr_label = "  their median harmonic-to-noise ratio (0.1-0.9 s)"
    if not (cfg.pitch_conditioning and cfg.n_families):
        return [(label, "not measured", "(not a family + pitch generator)", "")]
    sr = cfg.sample_rate
    asked = [(f, p) for f in range(cfg.n_families) for p in PITCH_CHECK]
    reference, reference_quiet, reference_hnr = "no notes dataset", "", ""
    if (notes_root / "manifest.csv").is_file():
        test = NotesDataset(notes_root, split="test", seconds=1.0)
        rows = [i for i, r in enumerate(test.rows) if r.pitch in PITCH_CHECK]
        random.Random(0).shuffle(rows)
        rows = rows[:len(asked)]
        real_clips = [test[i][0].numpy() for i in rows]
        real = [(_median_midi(a, test.sr), test.rows[i].pitch) for a, i in zip(real_clips, rows)]
        reference = f"real test notes {sum(m is not None and abs(m - p) <= 0.5 for m, p in real)}/{len(real)}"
        reference_quiet = f"real {_near_silent(real_clips)}/{len(real)}"
        reference_hnr = f"real {_median_hnr(real_clips, test.sr, [test.rows[i].pitch for i in rows])}"
    out = []
    for temperature in temperatures:
        temp = cfg.sampling_temperature if temperature is None else temperature
        for seed in seeds:
            codes = generate(model, sr, batch=len(asked), family=[f for f, _ in asked],
                             pitch=[p for _, p in asked], seed=seed, temperature=temp)
            clips = model.decode(codes).numpy()
            got = [_median_midi(a, sr) for a in clips]
            ours = sum(m is not None and abs(m - p) <= 0.5 for m, (_, p) in zip(got, asked))
            first = not out
            out += [(label if first else "", reference if first else "",
                     f"{ours}/{len(asked)} (seed {seed}, T {temp:g})", f"{cfg.n_families} families" if first else ""),
                    (quiet_label, reference_quiet if first else "", f"{_near_silent(clips)}/{len(asked)}", ""),
                    (hnr_label, reference_hnr if first else "", _median_hnr(clips, sr, [p for _, p in asked]), "")]
    return out


def _gpu_rows(model, cond: dict, batch: int, repeats: int, warps: list[int]) -> list[tuple[str, str, str, str]]:
    """The Triton step on a CUDA device: 1 s of audio for ``batch`` clips and for one, at each
    count of warps per program (wall; the first call at each compiles the kernel, untimed)."""
    from soundart.audio import wavenet_triton
    from soundart.audio.wavenet_generate import generate

    label = f"GPU (Triton step) real-time factor, batch {batch} aggregate, 1 s (wall)"
    if not torch.cuda.is_available():
        return [(label, "not measured", "(no CUDA device)", "")]
    sr = model.config.sample_rate
    gpu = copy.deepcopy(model).to("cuda")
    rows = []
    for w in warps:
        wavenet_triton.NUM_WARPS = w
        for warm in (batch, 1):
            generate(gpu, 64, batch=warm, seed=0, **cond)
        t_g, _ = median_wall_cpu(lambda: generate(gpu, sr, batch=batch, seed=0, **cond), repeats)
        t_1, _ = median_wall_cpu(lambda: generate(gpu, sr, batch=1, seed=0, **cond), repeats)
        rows += [(f"{label}, {w} warps", torch.cuda.get_device_name(), f"{batch / t_g:.1f}x", "bar >= 50x at 64"),
                 (f"GPU (Triton step) real-time factor, batch 1, 1 s (wall), {w} warps", "", f"{1 / t_1:.2f}x", "")]
    wavenet_triton.NUM_WARPS = warps[0]
    return rows


def main(argv: list[str] | None = None) -> int:
    from soundart.audio.wavenet_generate import generate, generate_audio

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generator", default="wavenet-notes")
    parser.add_argument("--vocoder", default="wavenet-vocoder")
    parser.add_argument("--notes", default=str(REPO / "data" / "notes"))
    parser.add_argument("--naive-extra", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--vocoder-notes", type=int, default=16)
    parser.add_argument("--beam", type=int, default=None, help="vocoder beam (default: DEFAULT_VOCODER_BEAM)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gpu-batch", type=int, default=64, help="clips generated together on a CUDA device")
    parser.add_argument("--gpu-warps", default="4", help="warps per Triton program, comma-separated to compare")
    parser.add_argument("--pitch-seeds", default="0", help="seeds of the pitch check, comma-separated")
    parser.add_argument("--pitch-temperatures", default="",
                        help="sampling temperatures of the pitch check, comma-separated (default: the model's)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    model, what = _load(args.generator, local=False)
    cfg = model.config
    sr = cfg.sample_rate
    rf = cfg.receptive_field
    cond = dict(family=0 if cfg.n_families else None, pitch=60 if cfg.pitch_conditioning else None)
    print(f"# generator: {what}; {model.num_parameters()} parameters, {len(cfg.dilations)} layers, "
          f"receptive field {rf} samples; threads {args.threads}")
    generate(model, 64, seed=0, **cond)  # compile the numba step (cached on disk afterwards)

    rows = []
    span = rf + args.naive_extra
    t_fast_span, c_fast_span = median_wall_cpu(lambda: generate(model, span, seed=0, **cond))
    t_naive_rf, c_naive_rf = median_wall_cpu(lambda: generate(model, rf, seed=0, method="naive", **cond))
    t_naive_span, c_naive_span = median_wall_cpu(lambda: generate(model, span, seed=0, method="naive", **cond))
    # extrapolate with process CPU time: wall time on a shared CPU swings too much to subtract two runs
    per_full_step = (c_naive_span - c_naive_rf) / args.naive_extra
    naive_1s = c_naive_rf + (sr - rf) * per_full_step
    t_fast_1s, c_fast_1s = median_wall_cpu(lambda: generate(model, sr, seed=0, **cond), args.repeats)
    rows.append((f"fast vs naive, first {span} samples (measured, wall)", f"{t_naive_span:.2f} s",
                 f"{t_fast_span:.3f} s", f"{t_naive_span / t_fast_span:.0f}x"))
    rows.append((f"fast vs naive, first {span} samples (measured, cpu)", f"{c_naive_span:.2f} s",
                 f"{c_fast_span:.3f} s", f"{c_naive_span / c_fast_span:.0f}x"))
    rows.append(("fast vs naive, 1 s at 16 kHz (cpu; naive extrapolated)", f"{naive_1s:.1f} s", f"{c_fast_1s:.3f} s",
                 f"{naive_1s / c_fast_1s:.0f}x"))
    rows.append(("naive per sample at full receptive field (cpu)", f"{per_full_step * 1e3:.2f} ms", "", ""))
    rows.append(("fast per sample, batch 1 (wall / cpu)", f"{t_fast_1s / sr * 1e6:.1f} us",
                 f"{c_fast_1s / sr * 1e6:.1f} us", "real time needs <= 62.5 us"))
    rows.append(("real-time factor, batch 1, 1 s (wall / cpu)", f"{1 / t_fast_1s:.2f}x", f"{1 / c_fast_1s:.2f}x", ""))
    batch = 8
    t_b, c_b = median_wall_cpu(lambda: generate(model, sr, batch=batch, seed=0, **cond), 1)
    rows.append((f"real-time factor, batch {batch} aggregate (wall / cpu)", f"{batch / t_b:.2f}x",
                 f"{batch / c_b:.2f}x", ""))
    # after the timings: run before them (pyin's numba code in the same process), one run measured the fast
    # step at 13.7 us a sample, against 10.0 in the next run with this order
    temperatures = [float(t) for t in args.pitch_temperatures.split(",") if t] or [None]
    rows += _pitch_rows(model, Path(args.notes), [int(x) for x in args.pitch_seeds.split(",")], temperatures)
    gpu_warps = [int(w) for w in args.gpu_warps.split(",")]
    rows += _gpu_rows(model, cond, args.gpu_batch, args.repeats, gpu_warps)

    voc, vwhat = _load(args.vocoder, local=True)
    notes_root = Path(args.notes)
    if vwhat == "untrained default config" or not (notes_root / "manifest.csv").is_file():
        rows.append(("vocoder log-mel L1 vs Griffin-Lim 64", "not measured", "(no trained vocoder or no notes)", ""))
    else:
        import random

        from soundart.audio.notes import NotesDataset
        from soundart.audio.wavenet_task import vocoder_l1

        test = NotesDataset(notes_root, split="test")
        rows_ = list(test.rows)
        random.Random(0).shuffle(rows_)
        test.rows = rows_[:args.vocoder_notes]
        res, took = timed(vocoder_l1, voc, test, 1.0, beam=args.beam)
        gl = res["test_logmel_l1_griffinlim64_db"]
        rows.append((f"vocoder log-mel L1 dB, {res['test_notes']} held-out notes x {res['seconds_per_note']:.2f} s",
                     f"griffin-lim64 {gl:.2f}", f"wavenet, beam {res['beam']}: {res['test_logmel_l1_wavenet_db']:.2f}",
                     f"ratio {res['test_logmel_l1_wavenet_db'] / gl:.2f} ({took:.0f} s all)"))
        if "test_logmel_l1_wavenet_plain_db" in res:
            rows.append(("  wavenet plain sampling (beam 1)", "", f"{res['test_logmel_l1_wavenet_plain_db']:.2f}",
                         f"ratio {res['test_logmel_l1_wavenet_plain_db'] / gl:.2f}"))
        rows.append(("  floor of any 8-bit mu-law output: the original through mu-law and back", "",
                     f"{res['test_logmel_l1_mulaw8_roundtrip_db']:.2f}", ""))
        if "test_logmel_l1_excitation_roundtrip_db" in res:
            rows.append(("  floor of this vocoder: the original's excitation through its codes and back", "",
                         f"{res['test_logmel_l1_excitation_roundtrip_db']:.2f}", ""))
        from soundart.audio.wavenet_task import load_clips
        from soundart.features import logmel

        one = logmel(load_clips(test, 1.0)[0][:1], voc.config.features)
        rt = []
        for beam in (1, res["beam"]):
            t_v, c_v = median_wall_cpu(lambda b=beam: generate_audio(voc, sr, mel=one, seed=0, beam=b))
            rt.append(f"{1 / t_v:.2f}x / {1 / c_v:.2f}x")
        rows.append((f"vocoder real-time factor, 1 s, beam 1 | beam {res['beam']} (wall / cpu)", rt[0], rt[1], ""))
        if torch.cuda.is_available():
            gpu_voc, gpu_mel = copy.deepcopy(voc).to("cuda"), one.to("cuda")
            for beam in (1, res["beam"]):
                generate_audio(gpu_voc, 64, mel=gpu_mel, seed=0, beam=beam)  # compiles the kernel
            walls = [median_wall_cpu(lambda b=beam: generate_audio(gpu_voc, sr, mel=gpu_mel, seed=0, beam=b))[0]
                     for beam in (1, res["beam"])]
            rt = [f"{1 / t:.2f}x" for t in walls]
            rows.append((f"GPU vocoder real-time factor, 1 s, beam 1 | beam {res['beam']} (wall)", rt[0], rt[1], ""))
        lpc = ""
        if voc.config.lpc_order:
            lpc = f", linear prediction order {voc.config.lpc_order}"
            if voc.config.sampling_lpc_order != voc.config.lpc_order:
                lpc += f" (sampled through order {voc.config.sampling_lpc_order})"
        print(f"# vocoder: {vwhat}; {voc.num_parameters()} parameters, output {voc.config.output}{lpc}")

    print(table(["measure", "reference / naive", "fast / ours", "ratio"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
