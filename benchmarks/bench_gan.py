"""SpecGAN quality bars: Frechet distance of classifier embeddings, and family recognition.

The embedding is an instrument-family classifier trained here, in the same
run, on real rendered notes of the notes dataset's *train* split (a small CNN
on the GAN's own 128x128 log-mel images); real held-out notes come from the
*test* split (unseen programs). Reported, side by side:

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

import numpy as np
import torch
from torch import nn


class FamilyNet(nn.Module):
    """Small CNN: normalised log-mel image (B, 1, 128, 128) -> (embedding (B, 64), logits)."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        layers, c_in = [], 1
        for c in (16, 32, 64, 64):
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.convs = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Linear(2 * c_in, 64), nn.ReLU())
        self.head = nn.Linear(64, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(x)
        return self.proj(torch.cat([h.amax(dim=(2, 3)), h.mean(dim=(2, 3))], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two embedding sets (N, D)."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="specgan", help="SpecGAN shipped name or checkpoint path")
    ap.add_argument("--root", default="data/notes")
    ap.add_argument("--n", type=int, default=500, help="real held-out notes and samples per set")
    ap.add_argument("--train-notes", type=int, default=3000)
    ap.add_argument("--clf-steps", type=int, default=800, help="family classifier training steps (batch 32)")
    ap.add_argument("--clf-augment", type=float, default=6.0,
                    help="random gain and spectral tilt (+- dB) on the classifier's training notes; 0 = none")
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
    train_x, train_y = load_images(data, cfg, "train")
    test_x, test_y = load_images(data, cfg, "test")
    valid_x, _ = load_images(data, cfg, "valid")
    print(f"data: {len(train_x)} train notes, {len(test_x)} test, {len(valid_x)} valid "
          f"({time.time() - t0:.0f} s)")

    # -- the embedding: a family classifier trained on real notes -------------------
    # Trained on real train-program notes only (never on samples). Unseen programs
    # differ from the training ones mostly in loudness and spectral tilt, so each
    # batch gets a random gain and tilt (dB) before normalisation; the rate decays
    # on a cosine so the last steps settle. Seeded here, not only at start: loading
    # a model draws its initial weights from the global generator first, so the
    # classifier would otherwise differ with the model's configuration.
    torch.manual_seed(args.seed)
    clf = FamilyNet(len(fams))
    opt = torch.optim.AdamW(clf.parameters(), lr=2e-3, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.clf_steps, eta_min=1e-4)
    norm = gan.normalize
    g = torch.Generator().manual_seed(args.seed)
    slope = torch.linspace(-0.5, 0.5, cfg.features.n_mels)[None, :, None]  # (1, n_mels, 1)
    t1 = time.time()
    for _ in range(args.clf_steps):
        idx = torch.randint(len(train_x), (32,), generator=g)
        x = train_x[idx]
        if args.clf_augment:
            gain = (torch.rand(len(idx), 1, 1, generator=g) - 0.5) * 2 * args.clf_augment
            tilt = (torch.rand(len(idx), 1, 1, generator=g) - 0.5) * 2 * args.clf_augment
            x = x + gain + tilt * slope
        loss = nn.functional.cross_entropy(clf(norm(x)), train_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    clf.eval()

    def run(x: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
        with torch.no_grad():
            embs, preds = [], []
            for i in range(0, len(x), 100):
                e = clf.embed(norm(x[i:i + 100]))
                embs.append(e)
                preds.append(clf.head(e).argmax(1))
        return torch.cat(embs).numpy().astype(np.float64), torch.cat(preds)

    test_e, test_pred = run(test_x)
    real_acc = float((test_pred == test_y).float().mean())
    print(f"family classifier: {args.clf_steps} steps in {time.time() - t1:.0f} s; "
          f"accuracy on real held-out notes (unseen programs) {real_acc:.3f}")

    # -- samples -----------------------------------------------------------------------
    gen = torch.Generator().manual_seed(args.seed + 1)
    trained = torch.cat([gan.sample(100, generator=gen) for _ in range(args.n // 100)])
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
    print(f"{'samples':28s} {'FD to held-out':>14s} {'ratio vs untrained':>18s}")
    for name, fd in rows:
        print(f"{name:28s} {fd:14.3f} {fd / base:18.3f}")
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
