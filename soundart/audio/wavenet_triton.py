"""The fast WaveNet step on a CUDA device: one Triton kernel runs a stretch of samples.

Why a kernel of its own: one sample of the default models is about 45,000 multiply-adds
spread over 20 layers of 16-channel matrix-vector products, so a per-sample loop of torch
ops would launch some 200 kernels a sample; at a few microseconds a launch that alone is
well above the 62.5 us a sample that real time at 16 kHz allows. Here one program keeps
``CLIPS_PER_PROGRAM`` clips and loops over the samples inside the kernel, the layers' queues
(Fast WaveNet) in device memory; a batch of 64 clips runs as 4 programs.

The kernel follows the numba step (``wavenet_kernels._step_python``) operation for
operation: the same queues, conditioning, inverse-CDF choice from the same uniforms, and
linear prediction; only the order of each sum differs, so in float64 it gives the naive
path's samples (``tests/audio/test_wavenet_triton.py`` runs it through Triton's interpreter
on the CPU, and compiles it for a Hopper GPU); in float32 the order of the sums makes rare
one-class differences, which the clip then carries on from, as the numba step's float32 does.

Layout: every channel count is padded with zeros to a power of two of at least 16 (what
``tl.dot`` takes); padded channels stay zero (zero weights and biases: ``tanh(0) = 0``),
padded output classes get a bias of minus infinity, so they are never chosen.
"""

from __future__ import annotations

import os

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # torch's CUDA wheels bring Triton; without it only the numba step runs
    triton = tl = None

CLIPS_PER_PROGRAM = 16  # tl.dot's least row count: a batch is padded up to a multiple of it
# warps per program: not yet timed on a GPU (benchmarks/bench_wavenet.py --gpu-warps compares counts);
# compiled for sm_90 at the vocoder's sizes, every count uses 255 registers a thread, and spills to a
# stack of 0 bytes at 8 warps, 16 at 4, 312 at 2 and 2 KB at 1
NUM_WARPS = 4


def _padded(n: int) -> int:
    return max(16, 1 << max(0, n - 1).bit_length())


def _steps_python(start, stop, prev_ptr, state_ptr, win_ptr, bin_ptr, wside_ptr, wpa_ptr, wpb_ptr, wha_ptr, whb_ptr,
                  wres_ptr, bres_ptr, wskip_ptr, bskip_ptr, wo1_ptr, bo1_ptr, wo2_ptr, bo2_ptr, dil_ptr,
                  gba_ptr, gbb_ptr, side_ptr, fra_ptr, frb_ptr, i0_ptr, i1_ptr, wt_ptr, u_ptr, temp_ptr,
                  coeffs_ptr, scale_ptr, audio_ptr, values_ptr, out_ptr,
                  B, T, NS, D, NF, NL, order, hop, n_choices, mixtures, log_scale_min, mu, per_sample,
                  L: tl.constexpr, RP: tl.constexpr, SP: tl.constexpr, KP: tl.constexpr, OP: tl.constexpr,
                  BB: tl.constexpr, HAS_LOCAL: tl.constexpr, LOGISTIC: tl.constexpr,
                  LPC: tl.constexpr):  # pragma: no cover - compiled (or interpreted) by Triton
    """Samples ``start..stop`` of this program's ``BB`` clips, from the arrays ``TritonStepper`` lays out."""
    rows = tl.program_id(0) * BB + tl.arange(0, BB)
    live = rows < B
    rows64 = rows.to(tl.int64)
    r = tl.arange(0, RP)
    s = tl.arange(0, SP)
    k = tl.arange(0, KP)
    square = r[:, None] * RP + r[None, :]
    win = tl.load(win_ptr + r)
    bin_ = tl.load(bin_ptr + r)
    bskip = tl.load(bskip_ptr + s)
    wo1 = tl.load(wo1_ptr + s[:, None] * SP + s[None, :])
    bo1 = tl.load(bo1_ptr + s)
    wo2 = tl.load(wo2_ptr + s[:, None] * KP + k[None, :])
    bo2 = tl.load(bo2_ptr + k)
    temperature = tl.load(temp_ptr + rows, mask=live, other=1.0)
    inv_temp = 1.0 / temperature
    choosable = k[None, :] < n_choices
    for t in range(start, stop):
        x = tl.load(prev_ptr + rows, mask=live, other=0.0)
        h = x[:, None] * win[None, :] + bin_[None, :]
        for j in range(NS):  # side inputs (generator: pitch waves, note clock, level)
            value = tl.load(side_ptr + (rows64 * T + t) * NS + j, mask=live, other=0.0)
            h += value[:, None] * tl.load(wside_ptr + j * RP + r)[None, :]
        f = tl.minimum((t + hop // 2) // hop, NF - 1)
        if LPC:
            lag = tl.arange(0, OP)
            past_t = t - 1 - lag
            near = live[:, None] & (lag[None, :] < order) & (past_t[None, :] >= 0)
            c = tl.load(coeffs_ptr + (rows64 * NF + f)[:, None] * OP + lag[None, :], mask=near, other=0.0)
            a = tl.load(audio_ptr + rows64[:, None] * T + past_t[None, :], mask=near, other=0.0)
            pred = -tl.sum(c * a, axis=1)
        skip = tl.zeros((BB, SP), dtype=bskip.dtype) + bskip[None, :]
        for layer in range(L):
            slot = t % tl.load(dil_ptr + layer)
            queue = state_ptr + ((rows64 * L + layer) * D + slot)[:, None] * RP + r[None, :]
            past = tl.load(queue, mask=live[:, None], other=0.0)
            w = layer * RP * RP + square
            za = tl.dot(past, tl.load(wpa_ptr + w), input_precision="ieee") \
                + tl.dot(h, tl.load(wha_ptr + w), input_precision="ieee")
            zb = tl.dot(past, tl.load(wpb_ptr + w), input_precision="ieee") \
                + tl.dot(h, tl.load(whb_ptr + w), input_precision="ieee")
            g_at = (rows64 * L + layer)[:, None] * RP + r[None, :]
            za += tl.load(gba_ptr + g_at, mask=live[:, None], other=0.0)
            zb += tl.load(gbb_ptr + g_at, mask=live[:, None], other=0.0)
            if HAS_LOCAL:
                f0 = tl.load(i0_ptr + t)
                f1 = tl.load(i1_ptr + t)
                ww = tl.load(wt_ptr + t)
                at0 = ((rows64 * NL + f0) * L + layer)[:, None] * RP + r[None, :]
                at1 = ((rows64 * NL + f1) * L + layer)[:, None] * RP + r[None, :]
                za += (1 - ww) * tl.load(fra_ptr + at0, mask=live[:, None], other=0.0) \
                    + ww * tl.load(fra_ptr + at1, mask=live[:, None], other=0.0)
                zb += (1 - ww) * tl.load(frb_ptr + at0, mask=live[:, None], other=0.0) \
                    + ww * tl.load(frb_ptr + at1, mask=live[:, None], other=0.0)
            # every thread has read the queue slot before any overwrites it with this sample's input
            tl.debug_barrier()
            tl.store(queue, h, mask=live[:, None])
            # tanh(a) = 1 - 2 / (exp(2a) + 1): tl.math has no tanh (libdevice's does not interpret on the CPU)
            g = (1.0 - 2.0 / (tl.exp(2.0 * za) + 1.0)) / (1.0 + tl.exp(-zb))
            h = h + tl.load(bres_ptr + layer * RP + r)[None, :] \
                + tl.dot(g, tl.load(wres_ptr + w), input_precision="ieee")
            skip += tl.dot(g, tl.load(wskip_ptr + layer * RP * SP + r[:, None] * SP + s[None, :]),
                           input_precision="ieee")
        y = tl.maximum(tl.dot(tl.maximum(skip, 0.0), wo1, input_precision="ieee") + bo1[None, :], 0.0)
        logits = tl.dot(y, wo2, input_precision="ieee") + bo2[None, :]
        # inverse-CDF choice among the first n_choices outputs at each clip's temperature: the mu-law
        # class, or the mixture component (whose logistic then gives the amplitude)
        scaled = tl.where(choosable, logits * inv_temp[:, None], float("-inf"))
        weights = tl.where(choosable, tl.exp(scaled - tl.max(scaled, axis=1)[:, None]), 0.0)
        cdf = tl.cumsum(weights, axis=1)
        u = tl.load(u_ptr + (rows64 * T + t) * per_sample, mask=live, other=0.0).to(weights.dtype)
        target = u * tl.sum(weights, axis=1)
        choice = tl.minimum(tl.sum((cdf < target[:, None]) & choosable, axis=1), n_choices - 1)
        if LOGISTIC:
            mean = tl.sum(tl.where(k[None, :] == (choice + mixtures)[:, None], logits, 0.0), axis=1)
            log_scale = tl.maximum(tl.sum(tl.where(k[None, :] == (choice + 2 * mixtures)[:, None], logits, 0.0),
                                          axis=1), log_scale_min)
            v = tl.load(u_ptr + (rows64 * T + t) * per_sample + 1, mask=live, other=0.5).to(weights.dtype)
            v = tl.minimum(tl.maximum(v, 1e-5), 1 - 1e-5)
            amplitude = mean + tl.exp(log_scale) * temperature * (tl.log(v) - tl.log(1.0 - v))
            amplitude = tl.minimum(tl.maximum(amplitude, -1.0), 1.0)
            code = tl.floor((amplitude + 1) / 2 * 65535 + 0.5).to(tl.int32)  # 16-bit levels
            companded = code.to(weights.dtype) * (2.0 / 65535) - 1.0
        else:
            code = choice
            companded = 2.0 * code.to(weights.dtype) / mu - 1.0
        tl.store(out_ptr + rows64 * T + t, code.to(tl.int64), mask=live)
        if LPC:
            value = tl.load(values_ptr + code, mask=live, other=0.0).to(weights.dtype)
            gain = tl.load(scale_ptr + rows64 * NF + f, mask=live, other=0.0)
            tl.store(audio_ptr + rows64 * T + t, tl.minimum(tl.maximum(pred + value * gain, -1.0), 1.0), mask=live)
        tl.store(prev_ptr + rows, companded.to(x.dtype), mask=live)
        # this sample's queue entries, audio and input are read by other threads at the next
        tl.debug_barrier()


_KERNELS: dict[bool, object] = {}  # by whether Triton interprets
RUNTIME_INTEGERS = ["start", "stop", "B", "T", "NS", "D", "NF", "NL", "order", "hop", "n_choices", "mixtures", "mu",
                    "per_sample"]


def triton_available(device: torch.device) -> bool:
    """Whether the Triton step can run for tensors on ``device`` (CUDA, or the CPU through
    Triton's interpreter when ``TRITON_INTERPRET=1``)."""
    if triton is None:
        return False
    if device.type == "cuda":
        return True
    return device.type == "cpu" and os.environ.get("TRITON_INTERPRET") == "1"


def _kernel():
    """The Triton step, compiled for the GPU or interpreted (``TRITON_INTERPRET=1``, read by triton.jit)."""
    interpret = os.environ.get("TRITON_INTERPRET") == "1"
    if interpret not in _KERNELS:
        # one compiled kernel per model shape: Triton would otherwise compile again for every run-time
        # integer that happens to be 1 or a multiple of 16 (a batch of one clip, a stretch's bounds)
        _KERNELS[interpret] = triton.jit(_steps_python, do_not_specialize=RUNTIME_INTEGERS)
    return _KERNELS[interpret]


class TritonStepper:
    """Runs the Triton step over stretches of samples for one batch, from the fast path's arrays.

    ``inputs`` are the numba step's numpy arrays (``wavenet_kernels.FastInputs``), copied here to
    ``device`` in ``dtype`` and padded; the running state (``state``, ``prev``, ``audio``, ``out``)
    keeps its rows in the numba layout, so a beam search can reorder them between stretches.
    """

    def __init__(self, inputs, device: torch.device, dtype: torch.dtype):
        self.kernel = _kernel()
        w, inputs, running = inputs  # weights, conditioning, running state (wavenet_kernels.FastInputs)
        L, R, _ = w.wa.shape
        S, K = w.wskip.shape[2], w.wo2.shape[1]
        RP, SP, KP = _padded(R), _padded(S), _padded(K)
        order = inputs.coeffs.shape[2]
        OP = _padded(order)
        B = running.out.shape[0]
        self.shape = dict(L=L, RP=RP, SP=SP, KP=KP, OP=OP)

        def put(t, shape, fill=0.0):
            t = torch.as_tensor(t, dtype=dtype)
            full = torch.full(shape, fill, dtype=dtype)
            full[tuple(slice(0, n) for n in t.shape)] = t
            return full.to(device).contiguous()

        wa, wb = torch.as_tensor(w.wa), torch.as_tensor(w.wb)
        NS = w.wside.shape[0]  # side inputs: none -> one row of zeros, never read (no null pointers)
        self.weights = [
            put(w.win, (RP,)), put(w.bin, (RP,)), put(w.wside, (max(NS, 1), RP)),
            put(wa[:, :, :R], (L, RP, RP)), put(wa[:, :, R:], (L, RP, RP)),
            put(wb[:, :, :R], (L, RP, RP)), put(wb[:, :, R:], (L, RP, RP)),
            put(w.wres, (L, RP, RP)), put(w.bres, (L, RP)),
            put(w.wskip, (L, RP, SP)), put(w.bskip, (SP,)),
            put(w.wo1, (SP, SP)), put(w.bo1, (SP,)),
            put(w.wo2, (SP, KP)), put(w.bo2, (KP,), fill=float("-inf")),
            torch.as_tensor(w.dil).to(device),
        ]
        gb = torch.as_tensor(inputs.gbias)
        self.gbias = [put(gb[..., :R], (B, L, RP)), put(gb[..., R:], (B, L, RP))]
        self.side = put(inputs.side, (B, inputs.side.shape[1], max(NS, 1)))
        fr = torch.as_tensor(inputs.frames)
        self.local_frames = fr.shape[1]
        self.frames = [put(fr[..., :R], (B, fr.shape[1], L, RP)), put(fr[..., R:], (B, fr.shape[1], L, RP))]
        self.interp = [torch.as_tensor(inputs.i0).to(device), torch.as_tensor(inputs.i1).to(device),
                       put(inputs.wt, tuple(inputs.wt.shape))]
        self.u = torch.as_tensor(inputs.u).to(device).contiguous()
        self.temperatures = torch.as_tensor(inputs.temperatures).to(device=device, dtype=dtype)
        self.n_frames = inputs.scale.shape[1]
        self.coeffs = put(inputs.coeffs, (B, self.n_frames, OP))
        self.scale = put(inputs.scale, tuple(inputs.scale.shape))
        self.values = torch.as_tensor(inputs.code_values).to(device=device, dtype=dtype)
        self.state = put(running.state, (B, L, running.state.shape[2], RP))
        self.prev = put(running.prev, (B,))
        self.audio = put(running.audio, tuple(running.audio.shape))
        self.out = torch.as_tensor(running.out).to(device).contiguous()
        # everything but the stretch's bounds is fixed for the batch (a beam search reorders the
        # running tensors' rows in place)
        mixtures = inputs.mixtures
        self.arguments = (
            self.prev, self.state, *self.weights, *self.gbias, self.side, *self.frames, *self.interp, self.u,
            self.temperatures, self.coeffs, self.scale, self.audio, self.values, self.out,
            B, self.out.shape[1], NS, self.state.shape[2], self.n_frames, self.local_frames, order, int(inputs.hop),
            mixtures if mixtures else K, mixtures, float(inputs.log_scale_min), K - 1, self.u.shape[2])
        self.constants = dict(BB=CLIPS_PER_PROGRAM, HAS_LOCAL=bool(inputs.has_local), LOGISTIC=bool(mixtures),
                              LPC=order > 0, **self.shape)
        self.grid = (-(-B // CLIPS_PER_PROGRAM),)

    def run(self, start: int, stop: int) -> None:
        self.kernel[self.grid](start, stop, *self.arguments, num_warps=NUM_WARPS, **self.constants)
