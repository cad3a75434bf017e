"""Mel VAE quality and renderer speed, side by side in one run.

1. Reconstruction of held-out notes (test-split programs, never seen in
   training): log-mel L1 in dB of the VAE's reconstruction (labels given; the
   posterior mean refined by the model's ``refine_steps`` gradient steps, as
   ``soundart synth reconstruct`` does) vs PCA with the same latent size fitted
   on the same training patches. Bar: ratio <= 0.7. The encoder's posterior
   mean alone is printed beside it.
2. Recognizability: the family referee shared with bench_gan
   (benchmarks/family_referee.py: a CNN trained on real rendered notes of the
   train programs, all velocities, with level, tilt and small pitch-shift
   augmentation, its checkpoint chosen on the valid programs) labels VAE
   samples drawn from the model's prior asked as family f; bar: >= 70%
   labelled f. Its accuracy on the held-out test programs' real notes is
   printed beside it: the ceiling a sample can be judged against. The
   classifier never sees a VAE sample while it is trained or chosen. Samples
   are drawn the way ``soundart synth vae`` draws them: the model's sampling
   prior (its per-family mixture when it has one) at the model's default
   temperature unless --temperature is given. Per family: samples recognised,
   and the classifier's accuracy on that family's real test-program notes.
   The trained referee is cached in data/cache (keyed by its data and
   settings), so benches of two models with one front end judge with the
   same referee. Beside it, how varied and how new the samples are: the
   mean pairwise log-mel L1 between 8 samples of one family and pitch (8
   pitches 40-80, every family) against the same for 8 real training notes,
   and each sample's L1 to the nearest training note of its family and pitch
   against the same for the valid programs' real notes (a copy of a training
   note would sit at about the reconstruction error).
3. Built-in renderer speed on a 1-minute 4-track MIDI (x real time; bar >= 50),
   next to FluidSynth when installed.

    python benchmarks/bench_melvae.py [--model melvae] [--root data/notes] [--threads 1] [--temperature T]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pretty_midi
import torch
from benchkit import median_wall_cpu, table, timed
from family_referee import RefereeConfig, cached_referee, train_referee

from soundart.audio.melvae_task import (
    MelVAEData,
    _resolve,
    _subset,
    note_patches,
    pca_l1,
    reconstruction_l1,
)
from soundart.audio.notes import read_manifest
from soundart.audio.render import find_backend, render_builtin, render_fluidsynth
from soundart.checkpoint import config_from_dict, read_document
from soundart.models import load_model, shipped_path


def rows_for(root: Path, split: str, data: MelVAEData, cfg, n: int, seed: int = 0) -> list:
    """Manifest rows of a split in the model's pitch range; train rows use the recipe's velocities,
    test rows all velocities (the same rows the recipe's evaluate() measured)."""
    rows = [r for r in read_manifest(root) if r.split == split and cfg.pitch_min <= r.pitch <= cfg.pitch_max
            and (split == "test" or not data.velocities or r.velocity in data.velocities)]
    return _subset(rows, n, seed)


@torch.no_grad()
def sample_spread(model, train, valid, temperature: float, per: int = 8) -> dict[str, float]:
    """Samples vs real notes of one family and pitch (pitches 40-80): mean pairwise L1 (dB) within
    a group, and mean L1 (dB) to the nearest training note of the same family and pitch."""
    cfg = model.config
    g, g_real = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    spread = {"samples": [], "real": []}
    nearest = {"samples": [], "valid": []}

    def pairwise(x: torch.Tensor) -> float:
        d = (x[:, None] - x[None]).abs().mean(dim=(2, 3)) * cfg.db_scale
        return float(d.sum() / (len(x) * (len(x) - 1)))

    def to_nearest(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return ((x[:, None] - ref[None]).abs().mean(dim=(2, 3)) * cfg.db_scale).amin(1)

    for fi in range(len(cfg.families)):
        for pitch in torch.linspace(40, 80, 8).long().tolist():
            pi = pitch - cfg.pitch_min
            ref = train.mel[(train.family == fi) & (train.pitch == pi)].float()
            if len(ref) < 2:
                continue
            real = ref[torch.randperm(len(ref), generator=g_real)[:per]]
            x = model.draw(per, torch.full((per,), pi), torch.full((per,), fi), generator=g, temperature=temperature)
            spread["samples"].append(pairwise(x))
            spread["real"].append(pairwise(real))
            nearest["samples"].append(to_nearest(x, ref))
            held = valid.mel[(valid.family == fi) & (valid.pitch == pi)].float()
            if len(held):
                nearest["valid"].append(to_nearest(held, ref))
    mean = lambda v: sum(v) / len(v) if v else float("nan")  # noqa: E731
    return {"spread_samples": mean(spread["samples"]), "spread_real": mean(spread["real"]),
            "nearest_samples": float(torch.cat(nearest["samples"]).mean()),
            "nearest_valid": float(torch.cat(nearest["valid"]).mean()) if nearest["valid"] else float("nan")}


def minute_midi() -> pretty_midi.PrettyMIDI:
    """1 minute, 4 tracks at 120 bpm: piano chords, bass, strings pad, drums (~720 notes)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano, bass = pretty_midi.Instrument(0), pretty_midi.Instrument(33)
    strings, drums = pretty_midi.Instrument(48), pretty_midi.Instrument(0, is_drum=True)
    roots = [50, 53, 55, 57]
    for bar in range(30):
        t0 = bar * 2.0
        root = roots[bar % 4]
        for beat in range(4):
            t = t0 + beat * 0.5
            for iv in (0, 4, 7):
                piano.notes.append(pretty_midi.Note(90, root + 12 + iv, t, t + 0.45))
            bass.notes.append(pretty_midi.Note(100, root - 12, t, t + 0.4))
            drums.notes.append(pretty_midi.Note(100, 36 if beat % 2 == 0 else 38, t, t + 0.1))
            drums.notes.append(pretty_midi.Note(70, 42, t + 0.25, t + 0.3))
        strings.notes.append(pretty_midi.Note(70, root + 24, t0, t0 + 2.0))
    pm.instruments += [piano, bass, strings, drums]
    return pm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="melvae")
    ap.add_argument("--root", default="data/notes")
    ap.add_argument("--n-test", type=int, default=600)
    ap.add_argument("--n-train", type=int, default=4000)
    ap.add_argument("--clf-steps", type=int, default=1600)
    ap.add_argument("--n-clf", type=int, default=12000, help="real train-program notes for the classifier")
    ap.add_argument("--clf-plain", action="store_true",
                    help="train the referee without SpecAugment masks and wider level/pitch ranges (weaker referee)")
    ap.add_argument("--samples-per-family", type=int, default=50)
    ap.add_argument("--temperature", type=float, default=None,
                    help="prior noise scale for the samples (default: the model's, as soundart synth vae)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = load_model(args.model, expect_kind="melvae").eval()
    cfg = model.config
    meta_path = shipped_path(args.model) if "/" not in args.model else Path(args.model)
    meta = read_document(str(meta_path) + ".json").get("metadata", {})
    data = config_from_dict(MelVAEData, meta.get("data_config", {}), "data_config")
    root = _resolve(args.root)
    cache = _resolve(data.cache_dir)
    rows = []

    # 1. reconstruction vs PCA
    train = note_patches(model, rows_for(root, "train", data, cfg, args.n_train), root, cache, "bench-train")
    test = note_patches(model, rows_for(root, "test", data, cfg, args.n_test), root, cache, "bench-test")
    vae_l1 = reconstruction_l1(model, test) * cfg.db_scale
    encoder_l1 = reconstruction_l1(model, test, refine_steps=0) * cfg.db_scale
    pca = pca_l1(train.mel.float().flatten(1), test.mel.float().flatten(1), cfg.latent) * cfg.db_scale
    rows.append((f"held-out recon L1 (dB), VAE ({cfg.refine_steps} refine steps)", f"{vae_l1:.3f}", ""))
    rows.append(("held-out recon L1 (dB), VAE posterior mean alone", f"{encoder_l1:.3f}",
                  f"ratio {encoder_l1 / pca:.3f}, reference"))
    rows.append((f"held-out recon L1 (dB), PCA k={cfg.latent}", f"{pca:.3f}", ""))
    rows.append(("ratio VAE / PCA (bar <= 0.7)", f"{vae_l1 / pca:.3f}", "PASS" if vae_l1 / pca <= 0.7 else "FAIL"))

    # 2. family recognizability
    t0 = time.perf_counter()
    all_velocities = MelVAEData(**{**data.__dict__, "velocities": ()})
    clf_train = note_patches(model, rows_for(root, "train", all_velocities, cfg, args.n_clf), root, cache, "train")
    clf_valid = note_patches(model, rows_for(root, "valid", all_velocities, cfg, args.n_test), root, cache, "valid")
    ref_cfg = RefereeConfig(steps=args.clf_steps, strong=not args.clf_plain)
    key = ["melvae", cfg.features.to_dict(), cfg.frames, cfg.pitch_min, cfg.pitch_max, args.n_clf, args.n_test,
           str(root)]
    n_fam = len(cfg.families)
    clf, valid_acc = cached_referee(cache, key, n_fam, ref_cfg, lambda: train_referee(
        model.denormalize(clf_train.mel.float()), clf_train.family, model.denormalize(clf_valid.mel.float()),
        clf_valid.family, n_fam, ref_cfg))
    real_pred = clf.predict(model.denormalize(test.mel.float()))
    real_acc = float((real_pred == test.family).float().mean())
    temperature = cfg.temperature if args.temperature is None else args.temperature
    g = torch.Generator().manual_seed(0)
    hits, total, per_family = 0, 0, []
    for fi, fam in enumerate(cfg.families):
        pitches = torch.randint(36, 85, (args.samples_per_family,), generator=g)
        x = model.draw(args.samples_per_family, pitches - cfg.pitch_min, torch.full_like(pitches, fi), generator=g,
                       temperature=temperature)
        pred = clf.predict(model.denormalize(x))
        ok = int((pred == fi).sum())
        wrong = pred[pred != fi]
        confused = cfg.families[int(torch.bincount(wrong, minlength=len(cfg.families)).argmax())] if len(wrong) else "-"
        real = test.family == fi
        real_fam = f"{float((real_pred[real] == fi).float().mean()):.0%}" if bool(real.any()) else "n/a"
        per_family.append(f"  {fam:<9} samples {ok / args.samples_per_family:4.0%} (most often taken for "
                          f"{confused}); real test notes {real_fam}")
        hits, total = hits + ok, total + args.samples_per_family
    rows.append(("family referee accuracy, valid-program real notes (chooses it)", f"{valid_acc:.3f}", "reference"))
    rows.append(("family referee accuracy, held-out test-program real notes", f"{real_acc:.3f}", "reference"))
    rows.append(("VAE samples labelled as asked (bar >= 0.70)", f"{hits / total:.3f}",
                  "PASS" if hits / total >= 0.7 else "FAIL"))
    spread = sample_spread(model, clf_train, clf_valid, temperature)
    rows.append(("sample spread: mean pairwise L1 (dB), 8 samples of one family + pitch",
                  f"{spread['spread_samples']:.2f}", f"real training notes {spread['spread_real']:.2f}"))
    rows.append(("samples' L1 (dB) to the nearest training note of their family + pitch",
                  f"{spread['nearest_samples']:.2f}", f"valid-program real notes {spread['nearest_valid']:.2f}"))
    clf_s = time.perf_counter() - t0

    # 3. renderer speed
    pm = minute_midi()
    seconds = pm.get_end_time()
    render_builtin(pm, 22050)  # warm-up
    builtin_s, builtin_cpu = median_wall_cpu(lambda: render_builtin(pm, 22050))
    rows.append((f"built-in render, {seconds:.0f} s 4-track MIDI, wall (x real time, bar >= 50)",
                  f"{seconds / builtin_s:.1f}", "PASS" if seconds / builtin_s >= 50 else "FAIL"))
    rows.append(("built-in render, CPU time of this process (x real time)", f"{seconds / builtin_cpu:.1f}",
                  "what one free core gives"))
    chosen = find_backend(None, "auto")
    if chosen.name == "fluidsynth":
        _, fs_s = timed(render_fluidsynth, pm, 22050, chosen.soundfont)
        rows.append(("fluidsynth render, wall (x real time, reference)", f"{seconds / fs_s:.1f}",
                      f"built-in is {fs_s / builtin_s:.2f}x its speed"))

    load = os.getloadavg()[0]
    print(f"model {args.model}: latent {cfg.latent}, {len(train)} train / {len(test)} test patches "
          f"({len({r for r in test.family.tolist()})} families), threads {args.threads}; "
          f"classifier part {clf_s:.0f} s; load average {load:.1f} on {os.cpu_count()} CPUs")
    band = f" per {cfg.prior_mixture_band}-semitone pitch band" if cfg.prior_mixture_band else ""
    mixture = (f"per-family{band} mixture of {cfg.prior_mixture}" if cfg.prior_mixture and int(model.mix_fitted)
               else "learned Gaussian p(z | pitch, family)" if cfg.learned_prior else "N(0, I)")
    print(f"samples: {args.samples_per_family} per family, prior {mixture}, temperature {temperature:g}; "
          f"classifier {'plain' if args.clf_plain else 'strong augmentation'}, {args.clf_steps} steps")
    print("per family:\n" + "\n".join(per_family))
    print(table(["measure", "value", "note"], rows))


if __name__ == "__main__":
    main()
