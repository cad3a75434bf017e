"""SpecGAN quality bars: Frechet distance of classifier embeddings, and family recognition.

The embedding is the family referee shared with bench_melvae
(benchmarks/family_referee.py): a small CNN trained on real rendered notes of
the notes dataset's *train* split, here through the GAN's own 128x128 log-mel
front end, its weights chosen on the *valid* split; real held-out notes come
from the *test* split (unseen programs). It is cached in data/cache (keyed by
its data, settings and seed). Reported, side by side:

- FD(real held-out, trained SpecGAN samples) vs FD(real held-out, samples of
  an untrained generator with the same per-bin moments); bar: ratio <= 0.5.
- FD of a second set of real notes (the valid split) as the floor.
- with ``--vae NAME_OR_PATH``, the mel VAE's samples on the same embedding: VAE
  and SpecGAN samples both go to audio (Griffin-Lim) and back to SpecGAN's
  log-mel front end, since the two models' front ends differ.
- family recognition: SpecGAN samples asked as family f, labelled f by the
  classifier; bar: >= 60%. The classifier's accuracy on real held-out notes
  is printed beside it.

Otherwise samples are compared as log-mel images (no vocoder round trip).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_gan.py --model runs/specgan/model
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from benchkit import table
from family_referee import RefereeConfig, cached_referee, frechet, train_referee

CACHE = Path(__file__).resolve().parents[1] / "data" / "cache"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="specgan", help="SpecGAN shipped name or checkpoint path")
    ap.add_argument("--root", default="data/notes")
    ap.add_argument("--n", type=int, default=500, help="real held-out notes and samples per set")
    ap.add_argument("--train-notes", type=int, default=12000, help="real train-program notes for the referee")
    ap.add_argument("--clf-steps", type=int, default=1600, help="family referee training steps (batch 64)")
    ap.add_argument("--clf-plain", action="store_true",
                    help="train the referee without SpecAugment masks and wider level/pitch ranges (weaker referee)")
    ap.add_argument("--vae", default=None, help="mel VAE to compare (shipped name or checkpoint)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    from soundart.models import load_model
    from soundart.spectral.gan import SpecGAN
    from soundart.spectral.gan_task import SpecGANDataConfig, load_images

    t0 = time.time()
    gan = load_model(args.model, expect_kind="specgan").eval()
    cfg = gan.config
    fams = list(cfg.families)
    data = SpecGANDataConfig(root=args.root, max_train=args.train_notes, max_valid=args.n)
    test_x, test_y = load_images(data, cfg, "test")
    valid_x, valid_y = load_images(data, cfg, "valid")
    print(f"data: {len(test_x)} test notes, {len(valid_x)} valid ({time.time() - t0:.0f} s)")

    # -- the embedding: the family referee, trained on real train-program notes ---------
    t1 = time.time()
    ref_cfg = RefereeConfig(steps=args.clf_steps, strong=not args.clf_plain, seed=args.seed)
    key = ["specgan", cfg.features.to_dict(), cfg.frames, list(data.pitches), args.train_notes, args.n, args.root]

    def train() -> tuple:
        train_x, train_y = load_images(data, cfg, "train")
        print(f"referee: training on {len(train_x)} train notes")
        return train_referee(train_x, train_y, valid_x, valid_y, len(fams), ref_cfg)

    clf, valid_acc = cached_referee(CACHE, key, len(fams), ref_cfg, train)

    def run(x: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
        return clf.embed(x), clf.predict(x)

    test_e, test_pred = run(test_x)
    real_acc = float((test_pred == test_y).float().mean())
    print(f"family referee ({args.clf_steps} steps, {time.time() - t1:.0f} s): accuracy on real held-out notes "
          f"(unseen programs) {real_acc:.3f}, on the valid programs it was chosen on {valid_acc:.3f}")

    # -- samples -----------------------------------------------------------------------
    gen = torch.Generator().manual_seed(args.seed + 1)
    trained = torch.cat([gan.sample(100, generator=gen) for _ in range(args.n // 100)])
    torch.manual_seed(args.seed)  # the untrained generator's weights, whether the referee was cached or trained
    untrained_model = SpecGAN(cfg).eval()
    untrained_model.bin_mean.copy_(gan.bin_mean)
    untrained_model.bin_std.copy_(gan.bin_std)
    untrained = torch.cat([untrained_model.sample(100, generator=gen) for _ in range(args.n // 100)])
    rows = [("real notes (valid split)", frechet(test_e, run(valid_x)[0])),
            ("SpecGAN trained", frechet(test_e, run(trained)[0])),
            ("SpecGAN untrained", frechet(test_e, run(untrained)[0]))]
    if args.vae:
        # The VAE has its own front end, so both models' samples go through audio
        # (pipeline inverse, Griffin-Lim) and back into SpecGAN's log-mel images.
        from soundart.features import logmel_to_audio
        from soundart.spectral.gan_task import clip_logmel

        vae = load_model(args.vae).eval()
        vcfg = vae.config.features

        def through_audio(logmels: torch.Tensor, fcfg) -> torch.Tensor:
            audio = logmel_to_audio(logmels, fcfg, n_iter=32, generator=torch.Generator().manual_seed(0))
            if fcfg.sr != cfg.features.sr:
                from soundart.io import resample

                audio = resample(audio, fcfg.sr, cfg.features.sr)
            return torch.stack([clip_logmel(a, cfg) for a in audio])

        with torch.no_grad():
            v = torch.cat([vae.sample(100, generator=gen) for _ in range(args.n // 100)])
        rows.append(("SpecGAN via Griffin-Lim", frechet(test_e, run(through_audio(trained, cfg.features))[0])))
        rows.append(("mel VAE via Griffin-Lim", frechet(test_e, run(through_audio(v, vcfg))[0])))
    else:
        rows.append(("mel VAE (not given)", float("nan")))

    # -- family recognition --------------------------------------------------------------
    per = max(1, args.n // len(fams))
    hits, total = 0, 0
    per_family = []
    for i, f in enumerate(fams):
        s = gan.sample(per, family=f, generator=gen)
        _, pred = run(s)
        k = int((pred == i).sum())
        per_family.append(f"{f} {k / per:.2f}")
        hits, total = hits + k, total + per
    fam_acc = hits / total

    base = rows[2][1]
    print()
    print(table(["samples", "FD to held-out", "ratio vs untrained"], [(name, fd, fd / base) for name, fd in rows],
                floats=".3f"))
    print()
    print(f"family recognition of conditioned samples: {fam_acc:.3f} ({total} samples; bar >= 0.60; "
          f"real held-out notes {real_acc:.3f})")
    print("per family: " + ", ".join(per_family))
    ratio = rows[1][1] / base
    print(f"bar FD ratio <= 0.5: {'PASS' if ratio <= 0.5 else 'FAIL'} ({ratio:.3f}); "
          f"bar family >= 0.60: {'PASS' if fam_acc >= 0.6 else 'FAIL'} ({fam_acc:.3f}); "
          f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
