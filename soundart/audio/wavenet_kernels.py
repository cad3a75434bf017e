"""The fast WaveNet generator's per-sample step (Fast WaveNet, Paine et al. 2016) and its inputs.

Each dilated layer keeps a queue of its last ``dilation`` inputs, so one sample costs O(layers).
The step is one numba-compiled loop over the model's weights (faster than torch ops per sample,
whose per-op overhead alone is above the 62 us a sample real time at 16 kHz allows), batched over
clips, one clip per thread. Its arguments come in three small structs (named tuples of arrays):

- :class:`StepWeights`: the layers' weights, laid out inputs-major with outputs contiguous;
- :class:`StepConditioning`: what is fixed for a batch: global biases per layer, local (mel) gate
  inputs per frame (interpolated per sample inside the loop), side inputs, linear-prediction
  filters, the uniforms and temperatures;
- :class:`StepState`: what the step writes: the queues, the previous input, the audio and the codes.

:class:`FastInputs` holds all three as numpy arrays; the Triton step on a CUDA device
(``soundart.audio.wavenet_triton``) pads and copies the same arrays.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from numba import prange


class StepWeights(NamedTuple):
    """A WaveNet's weights for the step (``L`` layers, ``R`` residual, ``S`` skip, ``K`` output channels)."""

    win: np.ndarray    # (R,) the previous sample's input weights
    bin: np.ndarray    # (R,)
    wside: np.ndarray  # (C, R) the side inputs' weights (C = 0: none)
    wa: np.ndarray     # (L, R, 2R) the dilated conv's tap at t - d
    wb: np.ndarray     # (L, R, 2R) its tap at t
    wres: np.ndarray   # (L, R, R)
    bres: np.ndarray   # (L, R)
    wskip: np.ndarray  # (L, R, S)
    bskip: np.ndarray  # (S,) the skip biases summed over layers (in float64)
    wo1: np.ndarray    # (S, S)
    bo1: np.ndarray    # (S,)
    wo2: np.ndarray    # (S, K)
    bo2: np.ndarray    # (K,)
    dil: np.ndarray    # (L,) int64 dilations


class StepConditioning(NamedTuple):
    """What the step reads for a batch of ``B`` clips of ``T`` samples."""

    gbias: np.ndarray         # (B, L, 2R) global conditioning per layer (and the gate biases)
    side: np.ndarray          # (B, T, C) side inputs the input layer reads ((B, 1, 0) without)
    frames: np.ndarray        # (B, F, L, 2R) local conditioning per frame (a (B, 1, 1, 1) dummy without)
    i0: np.ndarray            # (T,) frame before each sample
    i1: np.ndarray            # (T,) frame after
    wt: np.ndarray            # (T,) interpolation weight
    has_local: bool
    coeffs: np.ndarray        # (B, F, order) all-pole coefficients (order 0 without linear prediction)
    scale: np.ndarray         # (B, F) excitation gain
    hop: int                  # samples per frame
    code_values: np.ndarray   # (codes,) float64 excitation amplitude of each code
    u: np.ndarray             # (B, T, 1 or 2) float64 uniforms
    temperatures: np.ndarray  # (B,) float64: each clip's (a beam search's children differ)
    mixtures: int             # 0: mu-law classes, else a logistic mixture's components
    log_scale_min: float


class StepState(NamedTuple):
    """What the step writes (numpy arrays; a beam search reorders their rows between stretches)."""

    state: np.ndarray  # (B, L, max dilation, R) the layers' queues
    prev: np.ndarray   # (B,) the network's previous input
    audio: np.ndarray  # (B, T) with linear prediction, else (B, 1)
    out: np.ndarray    # (B, T) int64 codes


class FastInputs(NamedTuple):
    """The step's three structs for one batch."""

    weights: StepWeights
    cond: StepConditioning
    running: StepState


def fast_weights(model, dtype=np.float32) -> StepWeights:
    """The model's weights laid out for the step (inputs-major, outputs contiguous)."""
    def a(t):
        return np.ascontiguousarray(t.detach().cpu().double().numpy().astype(dtype))

    return StepWeights(
        win=a(model.input.weight[:, 0, 0]), bin=a(model.input.bias),
        wside=a(model.input.weight[:, 1:, 0].T),
        wa=a(torch.stack([c.weight[:, :, 0].T for c in model.dilated])),
        wb=a(torch.stack([c.weight[:, :, 1].T for c in model.dilated])),
        wres=a(torch.stack([c.weight[:, :, 0].T for c in model.residual])),
        bres=a(torch.stack([c.bias for c in model.residual])),
        wskip=a(torch.stack([c.weight[:, :, 0].T for c in model.skip])),
        bskip=a(torch.stack([c.bias for c in model.skip]).double().sum(0)),
        wo1=a(model.out1.weight[:, :, 0].T), bo1=a(model.out1.bias),
        wo2=a(model.out2.weight[:, :, 0].T), bo2=a(model.out2.bias),
        dil=np.asarray(model.config.dilations, dtype=np.int64),
    )


def in_float64(model, fn):
    """``fn()`` with the model's weights in float64 (restored afterwards)."""
    orig = next(model.parameters()).dtype
    model.to(torch.float64)
    try:
        return fn()
    finally:
        model.to(orig)


def fast_inputs(model, n_samples, batch, family, pitch, mel, u, temperature, np_dtype, device,
                temperature_factors=(1.0,)) -> FastInputs:
    """The step's inputs for ``batch`` clips of ``n_samples``; row ``b`` samples at ``temperature`` times
    ``temperature_factors[b % len(temperature_factors)]`` (a beam search's children differ)."""
    from soundart.audio.wavenet_codes import LEVELS, interpolation_table

    cfg = model.config
    mixtures = cfg.mixtures if cfg.output == "logistic" else 0
    w = fast_weights(model, np_dtype)
    fam = None if family is None else family.to(device)
    pit = None if pitch is None else pitch.to(device)
    # float64 runs (the exactness checks) compute the conditioning in float64, as the naive path does
    gb = model.global_bias(batch, fam, pit) if np_dtype == np.float32 \
        else in_float64(model, lambda: model.global_bias(batch, fam, pit))
    gb = np.ascontiguousarray(gb.detach().cpu().double().numpy().astype(np_dtype))  # (B, L, 2R)
    side = model.onset_side_inputs(batch, n_samples, torch.float64, pit, fam)
    side = np.zeros((batch, 1, 0), dtype=np_dtype) if side is None \
        else np.ascontiguousarray(side.transpose(1, 2).cpu().numpy().astype(np_dtype))
    if mel is not None:
        model_dtype = next(model.parameters()).dtype
        frames = model.frame_conditioning(mel.to(device=device, dtype=model_dtype)) if np_dtype == np.float32 \
            else in_float64(model, lambda: model.frame_conditioning(mel.to(device=device, dtype=torch.float64)))
        frames = np.ascontiguousarray(frames.permute(0, 3, 1, 2).detach().cpu().numpy().astype(np_dtype))
        i0, i1, wt = interpolation_table(n_samples, cfg.features.hop_length, frames.shape[1], dtype=torch.float64)
        i0, i1, wt = i0.numpy(), i1.numpy(), wt.numpy().astype(np_dtype)
    else:
        frames = np.zeros((batch, 1, 1, 1), dtype=np_dtype)
        i0 = i1 = np.zeros(1, dtype=np.int64)
        wt = np.zeros(1, dtype=np_dtype)
    if cfg.sampling_lpc_order:
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
    factors = temperature_factors
    temperatures = np.asarray([temperature * factors[row % len(factors)] for row in range(batch)])
    cond = StepConditioning(gbias=gb, side=side, frames=frames, i0=i0, i1=i1, wt=wt, has_local=mel is not None,
                            coeffs=coeffs, scale=scale, hop=cfg.features.hop_length, code_values=code_values,
                            u=u.numpy(), temperatures=temperatures, mixtures=mixtures,
                            log_scale_min=cfg.log_scale_min)
    state = np.zeros((batch, len(w.dil), int(w.dil.max()), cfg.residual_channels), dtype=np_dtype)
    running = StepState(state=state, prev=np.zeros(batch, dtype=np_dtype), audio=audio,
                        out=np.zeros((batch, n_samples), dtype=np.int64))
    return FastInputs(w, cond, running)


def numba_stepper(inputs: FastInputs):
    """``run(start, stop)`` over the numba step, and its running arrays as tensors sharing their memory."""
    step = kernel()
    w, c, s = inputs

    def run(start: int, stop: int) -> None:
        step(start, stop, w, c, s)

    return run, tuple(torch.from_numpy(x) for x in (s.state, s.prev, s.audio, s.out))


_KERNEL = None


def kernel():
    """Compile (once, cached on disk) the numba per-sample loop."""
    global _KERNEL
    if _KERNEL is None:
        import os

        import numba

        if "NUMBA_THREADING_LAYER" not in os.environ:
            # the OpenMP layer spin-waits after each parallel loop: it doubled the process CPU time
            # of the torch work that followed (bench_wavenet's naive path); the workqueue layer sleeps
            numba.config.THREADING_LAYER = "workqueue"

        # strict IEEE arithmetic (no fastmath): with linear prediction the audio feeds back through the
        # all-pole filter, and fastmath's one-ulp differences (reciprocals, approximate pow) grow over
        # thousands of samples against the naive path (recipes/notes/wavenet-vocoder.md, "Fast path").
        # parallel: the clips of a batch (and a beam search's paths) are independent, one per thread.
        # cache=True: the compiled loop is written next to this file (__pycache__/*.nbi, *.nbc), or, where
        # that folder is not writable (a read-only install), to numba's user cache dir (~/.cache/numba,
        # or NUMBA_CACHE_DIR); a later process loads it in ~0.1 s instead of compiling for 7-10 s.
        _KERNEL = numba.njit(cache=True, nogil=True, fastmath=False, parallel=True)(_step_python)
    return _KERNEL


def _step_python(start, stop, w, c, s):  # pragma: no cover - compiled
    """Samples ``start..stop`` of every clip: weights ``w`` (:class:`StepWeights`), conditioning ``c``
    (:class:`StepConditioning`), running state ``s`` (:class:`StepState`, written).

    ``c.mixtures`` 0 = mu-law classes, else a logistic mixture; side inputs (pitch waves, note clock,
    level) enter through ``w.wside``. With ``c.coeffs`` of order > 0: linear prediction; a code's
    amplitude times the frame's ``c.scale`` is the excitation, and ``s.audio`` receives the samples; a
    code's amplitude is ``c.code_values[code]`` (the model's ``code_value``, so both paths add the same
    float: libm's expm1 and torch's vectorised one differ by one ulp for 10% of the 16-bit levels, which
    the all-pole feedback grows).
    """
    prev, state, audio, out = s.prev, s.state, s.audio, s.out
    win, bin_, wside, wa, wb = w.win, w.bin, w.wside, w.wa, w.wb
    wres, bres, wskip, bskip, wo1, bo1, wo2, bo2, dil = w.wres, w.bres, w.wskip, w.bskip, w.wo1, w.bo1, w.wo2, \
        w.bo2, w.dil
    side, gbias, frames, i0, i1, wt, has_local = c.side, c.gbias, c.frames, c.i0, c.i1, c.wt, c.has_local
    u, temperatures, mixtures, log_scale_min = c.u, c.temperatures, c.mixtures, c.log_scale_min
    coeffs, scale, hop, code_values = c.coeffs, c.scale, c.hop, c.code_values
    B = out.shape[0]
    order = coeffs.shape[2]
    L, R, R2 = wa.shape
    S = wskip.shape[2]
    NS = wside.shape[0]
    K = wo2.shape[1]
    mu = K - 1
    levels = 65536  # soundart.audio.wavenet_codes.LEVELS
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
