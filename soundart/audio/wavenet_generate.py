"""Sampling audio from a WaveNet: the naive recompute path and the cached fast path.

Both paths draw the same uniforms from one seeded generator and pick each
sample by inverse CDF (mu-law: the class; logistic mixture: the component, then
the companded amplitude by the logistic's inverse CDF, rounded to a 16-bit level), so for
the same seed they return the same samples (``tests/audio/test_wavenet_generate.py``
holds them equal).

- ``method="naive"``: for every new sample, run the network (``WaveNet.network``, the layers
  ``forward`` runs) over the last ``receptive_field`` inputs (O(receptive field x layers) per sample).
- ``method="fast"``: Fast WaveNet (Paine et al. 2016), one sample in O(layers): the numba step of
  :mod:`soundart.audio.wavenet_kernels` on the CPU, batched over clips; with the model on a CUDA
  device the same step runs as one Triton kernel over a stretch of samples
  (``soundart.audio.wavenet_triton``; ``method="triton"`` forces it, which on the CPU needs Triton's
  interpreter).

With linear prediction (``lpc_order`` > 0) both loops also keep the audio: each
sample is the all-pole prediction from the previous samples (the nearest frame's
coefficients) plus the sampled excitation, clipped to [-1, 1].

A vocoder can also search (``beam`` > 1, fast path only): :mod:`soundart.audio.wavenet_beam`.
Vocoding a log-mel end to end: :mod:`soundart.audio.wavenet_vocoder`.
"""

from __future__ import annotations

import numpy as np
import torch

from soundart.audio.wavenet_beam import BEAM_CHILD_TEMPERATURES, MelBeamSearch, search_paths
from soundart.audio.wavenet_kernels import fast_inputs, kernel, numba_stepper
from soundart.errors import ConfigError

MAX_SECONDS = 600.0  # per clip; the CLI states tighter limits


def _sample_index(logits: torch.Tensor, u: torch.Tensor, temperature: float) -> torch.Tensor:
    """Inverse-CDF sampling: logits ``(B, K)``, uniforms ``(B,)`` -> classes ``(B,)``."""
    p = torch.softmax(logits.double() / temperature, dim=-1)
    cdf = torch.cumsum(p, dim=-1)
    target = u.double() * cdf[:, -1]
    return (cdf < target[:, None]).sum(-1).clamp(max=logits.shape[-1] - 1)


def _sample_logistic(params: torch.Tensor, u: torch.Tensor, temperature: float, mixtures: int,
                     log_scale_min: float) -> torch.Tensor:
    """Mixture-of-logistics sampling: params ``(B, 3M)``, uniforms ``(B, 2)`` -> 16-bit levels ``(B,)``.

    ``u[:, 0]`` picks the component by inverse CDF, ``u[:, 1]`` the companded amplitude by
    the logistic's inverse CDF. ``temperature`` divides the mixture logits and multiplies the
    logistic's scale: below 1 it favours the dominant component (the broad, rarely weighted
    ones are where wild samples come from) and narrows it.
    """
    from soundart.audio.wavenet_codes import LEVELS

    logits, means, log_scales = params.double().split(mixtures, dim=1)
    comp = _sample_index(logits, u[:, 0], temperature)[:, None]
    mean = means.gather(1, comp)[:, 0]
    scale = torch.exp(log_scales.gather(1, comp)[:, 0].clamp(min=log_scale_min))
    v = u[:, 1].double().clamp(1e-5, 1 - 1e-5)
    x = (mean + scale * temperature * (torch.log(v) - torch.log1p(-v))).clamp(-1.0, 1.0)
    return torch.floor((x + 1) / 2 * (LEVELS - 1) + 0.5).long()


def _prepare(model, n_samples: int | None, batch: int, family, pitch, mel, seed, temperature, paths: int = 1):
    """Checked, batch-expanded conditioning and the uniforms; with ``paths`` > 1 (a beam search)
    every clip's conditioning is repeated for its paths and each path gets its own uniforms."""
    from soundart.audio.wavenet_vocoder import check_mel
    from soundart.runtime import make_generator

    cfg = model.config
    if temperature <= 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    if mel is not None:
        mel = torch.as_tensor(mel)
        if mel.dim() == 2:
            mel = mel.unsqueeze(0)
        check_mel(mel, cfg.features.n_mels)
        if mel.shape[0] == 1 and batch > 1:
            mel = mel.expand(batch, -1, -1)
        batch = mel.shape[0]
        if n_samples is None:
            n_samples = max(1, (mel.shape[-1] - 1) * cfg.features.hop_length)
    elif cfg.local:
        raise ConfigError("this WaveNet is a vocoder: give it a log-mel")
    if n_samples is None or n_samples < 1:
        raise ConfigError(f"number of samples must be >= 1, got {n_samples}")
    if n_samples > MAX_SECONDS * cfg.sample_rate:
        raise ConfigError(f"{n_samples / cfg.sample_rate:.1f} s is above the limit of {MAX_SECONDS:g} s")

    def _cond(value, name):
        if value is None:
            return None
        t = torch.as_tensor(value).long().reshape(-1)
        if t.numel() == 1:
            t = t.expand(batch)
        if t.numel() != batch:
            raise ConfigError(f"{name}: {t.numel()} values for a batch of {batch}")
        return t

    family, pitch = _cond(family, "family"), _cond(pitch, "pitch")
    if pitch is not None and not ((pitch >= 0) & (pitch < 128)).all():
        raise ConfigError(f"pitch must be a MIDI number 0-127, got {pitch.tolist()}")
    if family is not None and model.family_embed is not None:
        if not ((family >= 0) & (family < cfg.n_families)).all():
            raise ConfigError(f"family index must be in 0..{cfg.n_families - 1}, got {family.tolist()}")
    if paths > 1:
        family, pitch, mel = (None if t is None else t.repeat_interleave(paths, 0) for t in (family, pitch, mel))
    gen = make_generator(seed)
    # one uniform per sample for a mu-law class; two (component, amplitude) for a logistic mixture
    per_sample = 2 if cfg.output == "logistic" else 1
    u = torch.rand((batch * paths, n_samples, per_sample), dtype=torch.float64, generator=gen)
    return n_samples, batch, family, pitch, mel, u


def generate(model, n_samples: int | None = None, *, batch: int = 1, family=None, pitch=None, mel=None,
             seed: int | None = None, temperature: float | None = None, method: str = "fast",
             dtype: torch.dtype = torch.float32, progress: bool = False, beam: int = 1) -> torch.Tensor:
    """Sample integer codes (mu-law classes or 16-bit levels) from a WaveNet.

    Parameters
    ----------
    model : a :class:`~soundart.audio.wavenet.WaveNet`; on a CUDA device the fast method runs the Triton
        step there (``soundart.audio.wavenet_triton``), else the numba step on the CPU.
    n_samples : samples per clip (vocoder: default ``(frames - 1) * hop``).
    batch : clips generated together (a mel's batch wins).
    family, pitch : int or ``(batch,)`` global conditioning (family index, MIDI pitch).
    mel : log-mel in dB ``(n_mels, frames)`` or ``(batch, n_mels, frames)`` for a vocoder.
    seed : seeds the uniforms every sample is drawn from (same seed -> same clip).
    temperature : softmax temperature (None: the model's ``sampling_temperature``).
    method : "fast" (cached queues: numba on the CPU, Triton on CUDA), "naive" (recompute the receptive
        field), or "triton" (the Triton step wherever the model is; on the CPU it needs TRITON_INTERPRET=1).
    dtype : arithmetic precision (float64 for exactness checks).
    beam : vocoder only, fast method: paths kept by the mel-guided beam search (1: plain sampling).

    Returns
    -------
    Tensor ``(batch, n_samples)`` int64 codes (``model.decode`` turns them into audio, except with
    linear prediction, where they are the excitation's: use :func:`generate_audio`).
    """
    return _sample(model, n_samples, batch=batch, family=family, pitch=pitch, mel=mel, seed=seed,
                   temperature=temperature, method=method, dtype=dtype, progress=progress, beam=beam)[0]


@torch.no_grad()
def _sample(model, n_samples, *, batch, family, pitch, mel, seed, temperature, method, dtype, progress, beam=1):
    """Codes ``(B, T)`` and, with linear prediction, the audio ``(B, T)`` (else None)."""
    if method not in ("fast", "naive", "triton"):
        raise ConfigError(f"unknown generation method {method!r} (fast, naive or triton)")
    if not isinstance(beam, int) or beam < 1:
        raise ConfigError(f"beam must be a whole number >= 1, got {beam!r}")
    if beam > 1 and mel is None:
        raise ConfigError("a beam search is guided by a log-mel: it needs a vocoder and its mel")
    if beam > 1 and method == "naive":
        raise ConfigError("a beam search runs on the fast generation method only")
    paths = search_paths(beam)
    if temperature is None:
        temperature = model.config.sampling_temperature
    n_samples, batch, family, pitch, mel, u = _prepare(model, n_samples, batch, family, pitch, mel, seed,
                                                       temperature, paths)
    device = next(model.parameters()).device
    use_triton = False
    if method == "triton" or (method == "fast" and device.type == "cuda"):
        from soundart.audio.wavenet_triton import triton_available

        # without Triton the fast method on a CUDA model runs the numba step on the CPU
        use_triton = triton_available(device)
        if method == "triton" and not use_triton:
            raise ConfigError("the Triton generation step needs Triton and a CUDA device (on the CPU, "
                              "Triton's interpreter: TRITON_INTERPRET=1)")
    was_training = model.training
    model.eval()
    try:
        if method == "naive":
            return _generate_naive(model, n_samples, batch, family, pitch, mel, u, temperature, dtype, progress)
        search = MelBeamSearch(model, mel[::paths], beam, device if use_triton else None) if beam > 1 else None
        return _generate_fast(model, n_samples, batch * paths, family, pitch, mel, u, temperature, dtype, progress,
                              device, search, use_triton)
    finally:
        model.train(was_training)


def generate_audio(model, n_samples: int | None = None, *, batch: int = 1, family=None, pitch=None, mel=None,
                   seed: int | None = None, temperature: float | None = None, method: str = "fast",
                   dtype: torch.dtype = torch.float32, progress: bool = False, beam: int = 1) -> torch.Tensor:
    """Like :func:`generate`, returning audio ``(batch, n_samples)`` float32 in [-1, 1]."""
    codes, audio = _sample(model, n_samples, batch=batch, family=family, pitch=pitch, mel=mel, seed=seed,
                           temperature=temperature, method=method, dtype=dtype, progress=progress, beam=beam)
    return model.decode(codes) if audio is None else audio.float()


def _generate_naive(model, n_samples, batch, family, pitch, mel, u, temperature, dtype, progress):
    from soundart.audio.wavenet_codes import frame_index, upsample_frames

    orig_dtype = next(model.parameters()).dtype
    order = model.config.sampling_lpc_order
    coeffs, scale = model.lpc_coefficients(mel, sampling=True) if order else (None, None)  # (B, F, order), (B, F)
    model.to(dtype)
    try:
        cfg = model.config
        rf = cfg.receptive_field
        q = torch.zeros((batch, n_samples), dtype=torch.long)
        inputs = torch.zeros((batch, n_samples), dtype=dtype)  # companded previous sample (or excitation)
        audio = torch.zeros((batch, n_samples), dtype=dtype) if order else None
        if order:
            frame = frame_index(n_samples, coeffs.shape[1], cfg.features.hop_length)
        gb = model.global_bias(batch, family, pitch)  # (B, L, 2R)
        side = model.onset_side_inputs(batch, n_samples, dtype, pitch, family)  # (B, C, T)
        local = None
        if mel is not None:
            frames = model.frame_conditioning(mel.to(dtype))  # (B, L, 2R, F)
            B, L, C2, Fn = frames.shape
            local = upsample_frames(frames.reshape(B, L * C2, Fn), n_samples, cfg.features.hop_length)
            local = local.view(B, L, C2, n_samples)
        steps = range(n_samples)
        if progress:
            from soundart.progress import progress as progress_bar

            steps = progress_bar(steps, desc="wavenet naive", unit="sample", leave=False)
        for t in steps:
            start = max(0, t - rf + 1)
            if order:
                pred = torch.zeros(batch, dtype=dtype)
                for k in range(1, min(order, t) + 1):
                    pred = pred - coeffs[:, frame[t], k - 1] * audio[:, t - k]
            window = slice(start, t + 1)
            add_local = None if local is None else lambda z, i, window=window: z + local[:, i, :, window]
            logits = model.network(inputs[:, window], gb, add_local,
                                   None if side is None else side[..., window])[:, :, -1]
            if cfg.output == "mulaw":
                q[:, t] = _sample_index(logits, u[:, t, 0], temperature)
            else:
                q[:, t] = _sample_logistic(logits, u[:, t], temperature, cfg.mixtures, cfg.log_scale_min)
            if order:
                excitation = (model.code_value(q[:, t]) * scale[:, frame[t]]).to(dtype)
                audio[:, t] = (pred + excitation).clamp(-1.0, 1.0)
            if t + 1 < n_samples:
                inputs[:, t + 1] = model.code_input(q[:, t], dtype)
        return q, audio
    finally:
        model.to(orig_dtype)


def _generate_fast(model, n_samples, batch, family, pitch, mel, u, temperature, dtype, progress, device,
                   search: MelBeamSearch | None = None, use_triton: bool = False):
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    cfg = model.config
    # one temperature per row: a beam search's children differ (see BEAM_CHILD_TEMPERATURES)
    inputs = fast_inputs(model, n_samples, batch, family, pitch, mel, u, temperature, np_dtype, device,
                         BEAM_CHILD_TEMPERATURES if search is not None else (1.0,))
    if use_triton:
        from soundart.audio.wavenet_triton import TritonStepper

        stepper = TritonStepper(inputs, device, dtype)
        run, running = stepper.run, (stepper.state, stepper.prev, stepper.audio, stepper.out)
    else:
        run, running = numba_stepper(inputs)
    state, prev, audio, out = running
    chunk = n_samples if not progress else max(1, min(n_samples, cfg.sample_rate // 4))
    if search is not None:
        chunk = cfg.features.hop_length
    bar = None
    if progress:
        from soundart.progress import progress as progress_bar

        bar = progress_bar(total=n_samples, desc="wavenet", unit="sample", unit_scale=True, leave=False)
    for start in range(0, n_samples, chunk):
        stop = min(n_samples, start + chunk)
        run(start, stop)
        if search is not None:
            search.after_hop(start, stop, state, prev, audio, out)
        if bar is not None:
            bar.update(stop - start)
    if bar is not None:
        bar.close()
    if search is not None:
        audio, out = search.finish(audio, out)
    return out.cpu(), (audio.cpu() if cfg.sampling_lpc_order else None)


def compile_ahead() -> int:
    """Compile the numba step for every argument layout the shipped WaveNets use, into the on-disk
    cache, so that the first ``synth wavenet`` or ``vocode`` after install starts as fast as later
    ones (``make install`` runs it). Returns the number of compiled layouts."""
    from soundart.audio.wavenet_vocoder import vocode_in_groups
    from soundart.models import load_model

    notes = load_model("wavenet-notes", device="cpu", expect_kind="wavenet-notes").eval()
    generate(notes, 64, family=0 if notes.config.n_families else None,
             pitch=60 if notes.config.pitch_conditioning else None, seed=0)
    vocoder = load_model("wavenet-vocoder", device="cpu", expect_kind="wavenet-vocoder").eval()
    mel = torch.full((1, vocoder.config.features.n_mels, 3), -40.0)
    vocode_in_groups(vocoder, mel, 64, seed=0)
    return len(kernel().signatures)

