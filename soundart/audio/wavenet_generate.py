"""Sampling audio from a WaveNet: the naive recompute path and the cached fast path.

Both paths draw the same uniforms from one seeded generator and pick each
sample by inverse CDF (mu-law: the class; logistic mixture: the component, then
the companded amplitude by the logistic's inverse CDF, rounded to a 16-bit level), so for
the same seed they return the same samples (``tests/audio/test_wavenet_generate.py``
holds them equal).

- ``method="naive"``: for every new sample, run the whole network over the last
  ``receptive_field`` inputs (O(receptive field x layers) per sample).
- ``method="fast"``: Fast WaveNet (Paine et al. 2016): each dilated layer keeps a
  queue of its last ``dilation`` inputs, so one sample costs O(layers). The
  per-sample step is one numba-compiled loop over the model's weights
  (measured faster than torch ops per sample, whose per-op overhead alone is
  above the 62 us a sample real time at 16 kHz allows); batched over clips.
  Conditioning is precomputed once per clip: global biases per layer, and
  local (mel) gate inputs per frame, interpolated per sample inside the loop.
  With the model on a CUDA device the same step runs as one Triton kernel over a
  stretch of samples (``soundart.audio.wavenet_triton``; ``method="triton"``
  forces it, which on the CPU needs Triton's interpreter).

With linear prediction (``lpc_order`` > 0) both loops also keep the audio: each
sample is the all-pole prediction from the previous samples (the nearest frame's
coefficients) plus the sampled excitation, clipped to [-1, 1].

A vocoder can also search (``beam`` > 1, fast path only): every clip runs
``beam * BEAM_CHILDREN`` sampled paths, scored against the log-mel it was given
whenever a frame's window is complete; the best ``beam`` paths go on (see
:class:`MelBeamSearch`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from numba import prange

from soundart.errors import ConfigError
from soundart.features import logmel

MAX_SECONDS = 600.0  # per clip; the CLI states tighter limits
# the continuations of every kept path at each frame of a beam search, as multiples of the sampling
# temperature: a hotter child widens the choice (bench_wavenet's 16 test notes, beam 8, seeds 0 / 1,
# through order-64 filters: children at 1 and 1.2: 3.73 / 3.85 dB, both at 1: 3.84 / 4.14; 32 valid
# notes, seed 0: 4.19 / 4.33; through the shipped order-256 filters, 32 valid notes, seeds 0 / 1:
# 1 and 1: 3.35 / 3.48, 1 and 1.2: 3.34 / 3.31, 1 and 1.5: 3.23 / 3.27, 1 and 1.8: 3.24 / 3.22,
# 1 and 2.2: 3.25 / 3.27, 0.9 and 1.2: 3.42 / 3.37, four children 1-1.6 at beam 4: 3.36 / 3.42;
# the 16 test notes: 1 and 1.2: 3.14 / 3.15, 1 and 1.5: 3.28 / 3.03, 1 and 1.8: 2.99 / 3.06)
BEAM_CHILD_TEMPERATURES = (1.0, 1.8)
BEAM_CHILDREN = len(BEAM_CHILD_TEMPERATURES)
# paths a vocoder keeps by default (``soundart vocode --beam``): on bench_wavenet's 16 test notes the
# shipped vocoder (through order-64 filters) measured 4.37 dB log-mel L1 at 1 (plain sampling) and,
# with both children at the sampling temperature, 4.09 at 4, 3.84 at 8, 3.81 at 16 (8 with the
# children above: 3.73)
DEFAULT_VOCODER_BEAM = 8
# a beam search holds every path's samples, draws and per-hop copies: about 0.5 MB per path-second,
# so one search covers at most this many seconds of audio times paths (vocode_wavenet splits a batch)
MAX_BEAM_PATH_SECONDS = 2400.0
# a clip vocoded through deeper filters than training used (``synthesis_lpc_order``) whose log-mel L1
# against its mel is above this is vocoded again through the training order, and the closer one kept:
# on mels far sparser than any training note (pure synthetic tones) the order-256 filters ring until
# the samples clip (26-35 dB; order 64 with the search: 4.7-18.2); held-out notes average 4-5 dB
# sampled plainly, with 0-2 in 64 above this (up to 19.4 dB)
SATURATED_L1_DB = 15.0


def search_paths(beam: int) -> int:
    """Sampled paths per clip for a beam of ``beam`` (1: plain sampling, one path)."""
    return beam * BEAM_CHILDREN if beam > 1 else 1


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
    from soundart.audio.wavenet import LEVELS

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
    from soundart.audio.wavenet import check_mel
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


class MelBeamSearch:
    """Mel-guided beam search over a vocoder's sampled paths.

    Every clip runs ``beam * BEAM_CHILDREN`` paths, each with its own uniforms. Whenever
    the samples so far complete a log-mel frame's window, every path's running score gains
    that frame's log-mel L1 (dB) against the clip's target; the ``beam`` best paths of each
    clip are kept, and each goes on as ``BEAM_CHILDREN`` paths (its state copied into rows that
    each draw their own uniforms from there, at the temperatures ``BEAM_CHILD_TEMPERATURES``).
    At the end the path with the lowest log-mel L1 over the whole clip is returned.

    Why: the sampled excitation's noise, shaped by the all-pole filters, fills the mel's
    valleys and thins its peaks, and which draws do so is visible in the mel the vocoder
    was given. A frame's window spans ``n_fft / hop`` hops, so a hop's samples are also
    judged by the frames after it: keeping several paths (not the single best) lets a
    choice be undone by those later frames.

    Paths are swapped by copying the generator's state and the last ``n_fft`` samples
    (the scoring window, longer than the linear-prediction history); each hop's samples
    and the paths' parents are kept, and the chosen path is traced back at the end. The
    running tensors live where the step runs (the CPU for numba, the GPU for Triton), and
    the search scores there.
    """

    def __init__(self, model, mel: torch.Tensor, beam: int, device: torch.device | None = None):
        self.model = model
        device = torch.device("cpu") if device is None else device
        self.cfg = model.config.features
        self.beam = beam
        self.paths = beam * BEAM_CHILDREN
        self.target = mel.to(device=device, dtype=torch.float64)  # (B, n_mels, F)
        self.clips = mel.shape[0]
        self.window = self.cfg.n_fft
        if model.config.sampling_lpc_order >= self.window:
            raise ConfigError(f"a beam search keeps {self.window} samples per path, no more than the "
                              f"linear-prediction order {model.config.sampling_lpc_order}")
        self.offset = self.cfg.n_fft // 2 if self.cfg.center else 0
        self.frame_cfg = self.cfg.replace(center=False, top_db=None)
        self.floor = None
        if self.cfg.log == "db" and self.cfg.top_db is not None:
            # a frame of the whole clip's log-mel is clipped at the clip's peak - top_db
            self.floor = (self.target.amax(dim=(1, 2)) - self.cfg.top_db).repeat_interleave(self.paths)[:, None]
        self.score = torch.zeros(self.clips * self.paths, dtype=torch.float64, device=device)
        self.next_frame = 0
        self.steps: list[tuple[int, int, torch.Tensor | None, torch.Tensor, torch.Tensor | None]] = []

    def _audio(self, audio: torch.Tensor, out: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        if self.model.config.lpc_order:
            return audio[:, lo:hi].double()
        return self.model.decode(out[:, lo:hi]).double()

    def after_hop(self, start: int, stop: int, state: torch.Tensor, prev: torch.Tensor, audio: torch.Tensor,
                  out: torch.Tensor) -> None:
        """Score the frames completed by ``stop`` (if any) and keep the best paths (in place)."""
        hop = self.cfg.hop_length
        chunk = (audio[:, start:stop].clone() if self.model.config.lpc_order else None, out[:, start:stop].clone())
        scored = False
        # a frame is complete once its window's last sample exists; with hop-long chunks its
        # first sample is within the last n_fft samples, which the previous swap made consistent
        while self.next_frame < self.target.shape[-1] and \
                self.next_frame * hop - self.offset + self.window <= stop:
            frame, lo = self.next_frame, self.next_frame * hop - self.offset
            self.next_frame += 1
            if lo < 0 and self.cfg.pad_mode != "constant":
                continue  # its padding needs samples not drawn yet
            segment = self._audio(audio, out, max(lo, 0), lo + self.window)
            if lo < 0:
                segment = torch.nn.functional.pad(segment, (-lo, 0))
            db = logmel(segment, self.frame_cfg)[:, :, 0]
            if self.floor is not None:
                db = torch.maximum(db, self.floor)
            target = self.target[:, :, frame].repeat_interleave(self.paths, 0)
            self.score += (db - target).abs().mean(dim=-1)
            scored = True
        if not scored:
            self.steps.append((start, stop, *chunk, None))
            return
        best = torch.argsort(self.score.view(self.clips, self.paths), dim=1, stable=True)[:, :self.beam]
        rows = best + torch.arange(self.clips, device=best.device)[:, None] * self.paths
        src = rows.repeat_interleave(BEAM_CHILDREN, 1).reshape(-1)
        self.steps.append((start, stop, *chunk, src))
        keep = max(0, stop - self.window)
        state[:] = state[src]
        prev[:] = prev[src]
        out[:, keep:stop] = out[src, keep:stop]
        if self.model.config.lpc_order:
            audio[:, keep:stop] = audio[src, keep:stop]
        self.score = self.score[src]

    def finish(self, audio: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Trace every path back, and return each clip's best path over the whole clip."""
        lpc = bool(self.model.config.lpc_order)
        rows = torch.arange(self.clips * self.paths, device=out.device)
        for start, stop, audio_chunk, code_chunk, src in reversed(self.steps):
            if src is not None:
                rows = src[rows]
            out[:, start:stop] = code_chunk[rows]
            if lpc:
                audio[:, start:stop] = audio_chunk[rows]
        whole = logmel(self._audio(audio, out, 0, out.shape[1]).float(), self.cfg)
        frames = min(whole.shape[-1], self.target.shape[-1])  # n_samples need not match the mel's length
        target = self.target[..., :frames].float().repeat_interleave(self.paths, 0)
        err = (whole[..., :frames] - target).abs().mean(dim=(1, 2)).view(self.clips, self.paths)
        pick = err.argmin(dim=1) + torch.arange(self.clips, device=err.device) * self.paths
        return audio[pick] if lpc else audio, out[pick]


def _generate_naive(model, n_samples, batch, family, pitch, mel, u, temperature, dtype, progress):
    from soundart.audio.wavenet import frame_index, upsample_frames

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
            window = inputs[:, start:t + 1]
            extra = None if local is None else local[..., start:t + 1]
            logits = _forward_window(model, window, gb, extra, None if side is None else side[..., start:t + 1])
            logits = logits[:, :, -1]
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


def _forward_window(model, inputs, gbias, local, side):
    """The network over a window, with gate biases ``(B, L, 2R)``, local terms ``(B, L, 2R, W)`` and
    side inputs ``(B, C, W)`` (or None)."""
    import torch.nn.functional as F

    x = inputs.unsqueeze(1)
    h = model.input(x if side is None else torch.cat([x, side], dim=1))
    skip = 0
    for i, d in enumerate(model.config.dilations):
        z = F.conv1d(F.pad(h, (d, 0)), model.dilated[i].weight, None, dilation=d) + gbias[:, i, :, None]
        if local is not None:
            z = z + local[:, i]
        a, b = z.chunk(2, dim=1)
        g = torch.tanh(a) * torch.sigmoid(b)
        h = h + model.residual[i](g)
        skip = skip + model.skip[i](g)
    return model.out2(F.relu(model.out1(F.relu(skip))))


def fast_weights(model, dtype=np.float32) -> dict[str, np.ndarray]:
    """The model's weights laid out for the numba step (inputs-major, outputs contiguous)."""
    def a(t):
        return np.ascontiguousarray(t.detach().cpu().double().numpy().astype(dtype))

    return {
        "win": a(model.input.weight[:, 0, 0]), "bin": a(model.input.bias),
        "wside": a(model.input.weight[:, 1:, 0].T),  # (C, R): the side inputs' weights
        "wa": a(torch.stack([c.weight[:, :, 0].T for c in model.dilated])),   # (L, R, 2R)
        "wb": a(torch.stack([c.weight[:, :, 1].T for c in model.dilated])),   # (L, R, 2R)
        "wres": a(torch.stack([c.weight[:, :, 0].T for c in model.residual])),  # (L, R, R)
        "bres": a(torch.stack([c.bias for c in model.residual])),            # (L, R)
        "wskip": a(torch.stack([c.weight[:, :, 0].T for c in model.skip])),    # (L, R, S)
        "bskip": a(torch.stack([c.bias for c in model.skip]).double().sum(0)),  # (S,), summed in float64
        "wo1": a(model.out1.weight[:, :, 0].T), "bo1": a(model.out1.bias),
        "wo2": a(model.out2.weight[:, :, 0].T), "bo2": a(model.out2.bias),
        "dil": np.asarray(model.config.dilations, dtype=np.int64),
    }


@dataclasses.dataclass
class _FastInputs:
    """The fast step's arguments as numpy arrays (the numba step's layout; the Triton step pads them)."""

    weights: dict
    gbias: np.ndarray        # (B, L, 2R) global conditioning per layer
    side: np.ndarray         # (B, T, C) side inputs the input layer reads ((B, 1, 0) without)
    frames: np.ndarray       # (B, F, L, 2R) local conditioning per frame (a (B, 1, 1, 1) dummy without)
    i0: np.ndarray           # (T,) frame before each sample
    i1: np.ndarray           # (T,) frame after
    wt: np.ndarray           # (T,) interpolation weight
    has_local: bool
    coeffs: np.ndarray       # (B, F, order) all-pole coefficients (order 0 without linear prediction)
    scale: np.ndarray        # (B, F) excitation gain
    code_values: np.ndarray  # (codes,) float64 excitation amplitude of each code
    u: np.ndarray            # (B, T, 1 or 2) float64 uniforms
    temperatures: np.ndarray  # (B,) float64
    mixtures: int            # 0: mu-law classes
    log_scale_min: float
    hop: int
    state: np.ndarray        # (B, L, max dilation, R) the layers' queues
    prev: np.ndarray         # (B,) the network's previous input
    audio: np.ndarray        # (B, T) with linear prediction, else (B, 1)
    out: np.ndarray          # (B, T) int64 codes


def _fast_inputs(model, n_samples, batch, family, pitch, mel, u, temperature, np_dtype, device,
                 searching: bool) -> _FastInputs:
    from soundart.audio.wavenet import LEVELS, interpolation_table

    cfg = model.config
    mixtures = cfg.mixtures if cfg.output == "logistic" else 0
    w = fast_weights(model, np_dtype)
    fam = None if family is None else family.to(device)
    pit = None if pitch is None else pitch.to(device)
    # float64 runs (the exactness checks) compute the conditioning in float64, as the naive path does
    gb = model.global_bias(batch, fam, pit) if np_dtype == np.float32 \
        else _in_float64(model, lambda: model.global_bias(batch, fam, pit))
    gb = np.ascontiguousarray(gb.detach().cpu().double().numpy().astype(np_dtype))  # (B, L, 2R)
    side = model.onset_side_inputs(batch, n_samples, torch.float64, pit, fam)
    side = np.zeros((batch, 1, 0), dtype=np_dtype) if side is None \
        else np.ascontiguousarray(side.transpose(1, 2).cpu().numpy().astype(np_dtype))
    if mel is not None:
        model_dtype = next(model.parameters()).dtype
        frames = model.frame_conditioning(mel.to(device=device, dtype=model_dtype)) if np_dtype == np.float32 \
            else _in_float64(model, lambda: model.frame_conditioning(mel.to(device=device, dtype=torch.float64)))
        frames = np.ascontiguousarray(frames.permute(0, 3, 1, 2).detach().cpu().numpy().astype(np_dtype))
        i0, i1, wt = interpolation_table(n_samples, cfg.features.hop_length, frames.shape[1], dtype=torch.float64)
        i0, i1, wt = i0.numpy(), i1.numpy(), wt.numpy().astype(np_dtype)
    else:
        frames = np.zeros((batch, 1, 1, 1), dtype=np_dtype)
        i0 = i1 = np.zeros(1, dtype=np.int64)
        wt = np.zeros(1, dtype=np_dtype)
    if cfg.lpc_order:
        coeffs, scale = (np.ascontiguousarray(t.cpu().numpy().astype(np_dtype))
                         for t in model.lpc_coefficients(mel.cpu(), sampling=True))
        audio = np.zeros((batch, n_samples), dtype=np_dtype)
        n_codes = cfg.n_classes if mixtures == 0 else LEVELS
        code_values = np.ascontiguousarray(model.code_value(torch.arange(n_codes)).cpu().numpy())  # float64
    else:
        coeffs = np.zeros((batch, 1, 0), dtype=np_dtype)
        scale = np.zeros((batch, 1), dtype=np_dtype)
        audio = np.zeros((batch, 1), dtype=np_dtype)
        code_values = np.zeros(1)
    # one temperature per row: a beam search's children differ (see BEAM_CHILD_TEMPERATURES)
    factors = BEAM_CHILD_TEMPERATURES if searching else (1.0,)
    temperatures = np.asarray([temperature * factors[row % len(factors)] for row in range(batch)])
    state = np.zeros((batch, len(w["dil"]), int(w["dil"].max()), cfg.residual_channels), dtype=np_dtype)
    return _FastInputs(weights=w, gbias=gb, side=side, frames=frames, i0=i0, i1=i1, wt=wt, has_local=mel is not None,
                       coeffs=coeffs, scale=scale, code_values=code_values, u=u.numpy(), temperatures=temperatures,
                       mixtures=mixtures, log_scale_min=cfg.log_scale_min, hop=cfg.features.hop_length, state=state,
                       prev=np.zeros(batch, dtype=np_dtype), audio=audio,
                       out=np.zeros((batch, n_samples), dtype=np.int64))


def _numba_stepper(inputs: _FastInputs):
    """``run(start, stop)`` over the numba step, and its running arrays as tensors sharing their memory."""
    step, w, a = _kernel(), inputs.weights, inputs

    def run(start: int, stop: int) -> None:
        step(start, stop, a.prev, a.state, w["win"], w["bin"], w["wside"], a.side, w["wa"], w["wb"], w["wres"],
             w["bres"], w["wskip"], w["bskip"], w["wo1"], w["bo1"], w["wo2"], w["bo2"], w["dil"], a.gbias, a.frames,
             a.i0, a.i1, a.wt, a.has_local, a.u, a.temperatures, a.mixtures, a.log_scale_min, a.coeffs, a.scale,
             a.hop, a.audio, a.code_values, a.out)

    return run, tuple(torch.from_numpy(x) for x in (a.state, a.prev, a.audio, a.out))


def _generate_fast(model, n_samples, batch, family, pitch, mel, u, temperature, dtype, progress, device,
                   search: MelBeamSearch | None = None, use_triton: bool = False):
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    cfg = model.config
    inputs = _fast_inputs(model, n_samples, batch, family, pitch, mel, u, temperature, np_dtype, device,
                          search is not None)
    if use_triton:
        from soundart.audio.wavenet_triton import TritonStepper

        stepper = TritonStepper(inputs, device, dtype)
        run, running = stepper.run, (stepper.state, stepper.prev, stepper.audio, stepper.out)
    else:
        run, running = _numba_stepper(inputs)
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
    return out.cpu(), (audio.cpu() if cfg.lpc_order else None)


def _in_float64(model, fn):
    """``fn()`` with the model's weights in float64 (restored afterwards)."""
    orig = next(model.parameters()).dtype
    model.to(torch.float64)
    try:
        return fn()
    finally:
        model.to(orig)


_KERNEL = None


def _kernel():
    """Compile (once, cached on disk) the numba per-sample loop."""
    global _KERNEL
    if _KERNEL is None:
        import os

        import numba

        if "NUMBA_THREADING_LAYER" not in os.environ:
            # the OpenMP layer spin-waits after each parallel loop: it doubled the process CPU time
            # of the torch work that followed (bench_wavenet's naive path); the workqueue layer sleeps
            numba.config.THREADING_LAYER = "workqueue"

        # strict IEEE arithmetic (no fastmath): with linear prediction the audio feeds back through
        # the all-pole filter, and fastmath's one-ulp differences (reciprocals, approximate pow)
        # grew to 1e-3 over 2,000 samples against the naive path; as fast either way (6.9x real time).
        # parallel: the clips of a batch (and a beam search's paths) are independent, one per thread
        # cache=True: the compiled loop is written next to this file (__pycache__/*.nbi, *.nbc), or, where
        # that folder is not writable (a read-only install), to numba's user cache dir (~/.cache/numba,
        # or NUMBA_CACHE_DIR); a later process loads it in ~0.1 s instead of compiling for 7-10 s.
        _KERNEL = numba.njit(cache=True, nogil=True, fastmath=False, parallel=True)(_step_python)
    return _KERNEL


def compile_ahead() -> int:
    """Compile the numba step for every argument layout the shipped WaveNets use, into the on-disk
    cache, so that the first ``synth wavenet`` or ``vocode`` after install starts as fast as later
    ones (``make install`` runs it). Returns the number of compiled layouts."""
    from soundart.models import load_model

    notes = load_model("wavenet-notes", device="cpu", expect_kind="wavenet").eval()
    generate(notes, 64, family=0 if notes.config.n_families else None,
             pitch=60 if notes.config.pitch_conditioning else None, seed=0)
    vocoder = load_model("wavenet-vocoder", device="cpu", expect_kind="wavenet").eval()
    mel = torch.full((1, vocoder.config.features.n_mels, 3), -40.0)
    vocode_in_groups(vocoder, mel, 64, seed=0)
    return len(_kernel().signatures)


def _step_python(start, stop, prev, state, win, bin_, wside, side, wa, wb, wres, bres, wskip, bskip, wo1, bo1, wo2,
                 bo2, dil, gbias, frames, i0, i1, wt, has_local, u, temperatures, mixtures, log_scale_min,
                 coeffs, scale, hop, audio, code_values, out):  # pragma: no cover - compiled
    """Samples ``start..stop`` of every clip; ``mixtures`` 0 = mu-law classes, else a logistic mixture;
    ``temperatures`` ``(B,)``: each clip's (a beam search's children differ); ``side`` ``(B, T, C)``:
    side inputs (pitch waves, note clock, level) the input layer reads through ``wside`` ``(C, R)`` (C = 0: none).

    ``coeffs`` ``(B, F, order)`` with ``order`` > 0: linear prediction; a code's amplitude times
    the frame's ``scale`` ``(B, F)`` is the excitation, and ``audio`` receives the samples; a code's
    amplitude is ``code_values[code]`` (the model's ``code_value``, so both paths add the same
    float: computed here, libm's expm1 and torch's vectorised one differ by one ulp for 10% of
    the 16-bit levels, which the all-pole feedback grew to 1e-10 over 2,000 samples).
    """
    B = out.shape[0]
    order = coeffs.shape[2]
    L, R, R2 = wa.shape
    S = wskip.shape[2]
    NS = wside.shape[0]
    K = wo2.shape[1]
    mu = K - 1
    levels = 65536  # soundart.audio.wavenet.LEVELS
    for b in prange(B):
        temperature = temperatures[b]
        inv_temp = 1.0 / temperature
        h = np.empty(R, dtype=win.dtype)
        z = np.empty(R2, dtype=win.dtype)
        g = np.empty(R, dtype=win.dtype)
        skip = np.empty(S, dtype=win.dtype)
        y = np.empty(S, dtype=win.dtype)
        logit = np.empty(K, dtype=win.dtype)
        for t in range(start, stop):
            x = prev[b]
            for r in range(R):
                h[r] = win[r] * x + bin_[r]
            for j in range(NS):
                value = side[b, t, j]
                for r in range(R):
                    h[r] += wside[j, r] * value
            pred = 0.0
            f = 0
            if order > 0:
                f = min((t + hop // 2) // hop, coeffs.shape[1] - 1)
                for k in range(1, min(order, t) + 1):
                    pred = pred - coeffs[b, f, k - 1] * audio[b, t - k]
            for o in range(S):
                skip[o] = bskip[o]
            for layer in range(L):
                d = dil[layer]
                slot = t % d
                past = state[b, layer, slot]
                if has_local:
                    f0 = i0[t]
                    f1 = i1[t]
                    ww = wt[t]
                    for o in range(R2):
                        z[o] = gbias[b, layer, o] + (1 - ww) * frames[b, f0, layer, o] + ww * frames[b, f1, layer, o]
                else:
                    for o in range(R2):
                        z[o] = gbias[b, layer, o]
                wal = wa[layer]
                wbl = wb[layer]
                for i in range(R):
                    pi = past[i]
                    hi = h[i]
                    for o in range(R2):
                        z[o] += wal[i, o] * pi + wbl[i, o] * hi
                for i in range(R):
                    past[i] = h[i]
                for r in range(R):
                    g[r] = math.tanh(z[r]) / (1.0 + math.exp(-z[R + r]))
                for o in range(R):
                    h[o] += bres[layer, o]
                wrl = wres[layer]
                wsl = wskip[layer]
                for i in range(R):
                    gi = g[i]
                    for o in range(R):
                        h[o] += wrl[i, o] * gi
                    for o in range(S):
                        skip[o] += wsl[i, o] * gi
            for o in range(S):
                y[o] = bo1[o]
            for i in range(S):
                si = skip[i]
                if si > 0:
                    for o in range(S):
                        y[o] += wo1[i, o] * si
            for o in range(K):
                logit[o] = bo2[o]
            for i in range(S):
                yi = y[i]
                if yi > 0:
                    for o in range(K):
                        logit[o] += wo2[i, o] * yi
            # inverse-CDF choice among the first n logits at the temperature: the mu-law class,
            # or the mixture component (whose logistic then gives the amplitude)
            n = K if mixtures == 0 else mixtures
            for o in range(n):
                logit[o] *= inv_temp
            m = logit[0]
            for o in range(n):
                if logit[o] > m:
                    m = logit[o]
            total = 0.0
            for o in range(n):
                logit[o] = math.exp(logit[o] - m)
                total += logit[o]
            target = u[b, t, 0] * total
            k = 0
            cum = logit[0]
            while cum < target and k < n - 1:
                k += 1
                cum += logit[k]
            value = 0.0  # the excitation's amplitude (linear prediction only)
            if mixtures == 0:
                out[b, t] = k
                companded = 2.0 * k / mu - 1.0
                if order > 0:
                    value = code_values[k]
            else:
                log_scale = max(logit[2 * mixtures + k], log_scale_min)
                v = min(max(u[b, t, 1], 1e-5), 1 - 1e-5)
                x = logit[mixtures + k] + math.exp(log_scale) * temperature * (math.log(v) - math.log1p(-v))
                x = min(max(x, -1.0), 1.0)
                code = int(math.floor((x + 1) / 2 * (levels - 1) + 0.5))
                out[b, t] = code
                companded = code * (2.0 / (levels - 1)) - 1.0
                if order > 0:
                    value = code_values[code]
            if order > 0:
                audio[b, t] = min(max(pred + value * scale[b, f], -1.0), 1.0)
            prev[b] = companded
    return 0


FRONT_END_FIELDS = ("sr", "n_fft", "hop_length", "win_length", "window", "center", "n_mels", "fmin", "fmax",
                    "mel_scale", "norm", "power", "log")


def vocode_wavenet(logmel: torch.Tensor, feature_config, model: str = "wavenet-vocoder", device: str = "cpu",
                   seed: int | None = None, progress: bool = False, beam: int = DEFAULT_VOCODER_BEAM) -> torch.Tensor:
    """Log-mel ``(B, n_mels, frames)`` in dB -> audio ``(B, (frames - 1) * hop)`` with a WaveNet vocoder.

    ``feature_config`` is the front end that made the log-mel; it must match the
    vocoder's (a ConfigError names the fields that differ). ``model`` is a
    shipped name or a checkpoint path; ``beam``: paths of the mel-guided search (1: plain sampling).
    A batch is searched in groups of clips that fit ``MAX_BEAM_PATH_SECONDS`` (group k seeded with
    ``seed + k``); a single clip above it is a ConfigError.
    """
    from soundart.errors import ModelError
    from soundart.models import load_model
    from soundart.runtime import resolve_device

    wn = load_model(model, device=resolve_device(device), expect_kind="wavenet")
    if not wn.config.local:
        raise ModelError(f"model {model!r} is not a mel vocoder")
    mine = wn.config.features
    diff = [f"{name} {getattr(feature_config, name)} (vocoder: {getattr(mine, name)})"
            for name in FRONT_END_FIELDS if getattr(feature_config, name) != getattr(mine, name)]
    if diff:
        raise ConfigError("the log-mel's front end differs from the WaveNet vocoder's: " + ", ".join(diff))
    n_samples = max(1, (logmel.shape[-1] - 1) * mine.hop_length)
    return vocode_in_groups(wn, logmel, n_samples, seed=seed, beam=beam, progress=progress)


def vocode_in_groups(model, logmel: torch.Tensor, n_samples: int, *, seed: int | None = None,
                     temperature: float | None = None, beam: int = DEFAULT_VOCODER_BEAM, progress: bool = False,
                     refiltered: list[int] | None = None) -> torch.Tensor:
    """Vocode log-mels ``(B, n_mels, frames)`` with a loaded vocoder, ``n_samples`` per clip, searching
    as many clips at a time as fit ``MAX_BEAM_PATH_SECONDS`` (the k-th group draws from ``seed + k``);
    one clip above that limit is a ConfigError. A clip that saturates deeper sampling filters than
    training used (log-mel L1 above ``SATURATED_L1_DB``) is vocoded again through the training order
    and the closer of the two kept; the indices of clips so replaced go into ``refiltered``."""
    sr = model.config.features.sr
    paths = search_paths(beam)
    if n_samples * paths > MAX_BEAM_PATH_SECONDS * sr:
        raise ConfigError(f"{n_samples / sr:.0f} s of audio per clip is above the WaveNet vocoder's limit of "
                          f"{MAX_BEAM_PATH_SECONDS / paths:g} s with a beam of {beam} (lower --beam)")
    group = max(1, int(MAX_BEAM_PATH_SECONDS * sr // (n_samples * paths)))

    def run(mels: torch.Tensor) -> torch.Tensor:
        parts = [generate_audio(model, n_samples, mel=mels[i:i + group], temperature=temperature, progress=progress,
                                beam=beam, seed=None if seed is None else seed + k)
                 for k, i in enumerate(range(0, mels.shape[0], group))]
        return torch.cat(parts)

    audio = run(logmel)
    if refiltered is not None:
        refiltered.clear()
    cfg = model.config
    if cfg.sampling_lpc_order == cfg.lpc_order:
        return audio
    err = clip_logmel_l1(audio, logmel, cfg.features)
    again = (err > SATURATED_L1_DB).nonzero().flatten()
    if len(again):
        model.config = dataclasses.replace(cfg, synthesis_lpc_order=0)
        try:
            retry = run(logmel[again])
        finally:
            model.config = cfg
        better = clip_logmel_l1(retry, logmel[again], cfg.features) < err[again]
        audio[again[better]] = retry[better]
        if refiltered is not None:
            refiltered.extend(again[better].tolist())
    return audio


def clip_logmel_l1(audio: torch.Tensor, mel: torch.Tensor, features) -> torch.Tensor:
    """Log-mel L1 (dB) of each clip ``(B, T)`` against its mel ``(B, n_mels, F)``, over the frames both have."""
    got = logmel(audio.float(), features)
    frames = min(got.shape[-1], mel.shape[-1])
    return (got[..., :frames] - mel[..., :frames].float()).abs().mean(dim=(1, 2))
