"""WaveNet: one model class for a class-conditional note generator and a mel vocoder.

Causal dilated convolutions (kernel 2, cycles of dilations 1, 2, ..., 2**max_dilation_exp),
gated ``tanh * sigmoid`` units, residual and skip paths, and one of two outputs:

- ``output="mulaw"``: an 8-bit mu-law categorical output (van den Oord et al. 2016);
- ``output="logistic"``: a discretized mixture of logistics (PixelCNN++, Salimans
  et al. 2017) over the mu-law *companded* amplitude, quantised to 16 bits. Why it
  exists: 8-bit mu-law alone costs 3.1 dB of log-mel L1 on quiet rendered notes
  (its quantisation noise fills the spectrum's quiet bins), close to Griffin-Lim's
  whole error, so a vocoder judged by log-mel L1 needs finer amplitudes. Why
  companded: the network predicts in the domain it reads, as the categorical output
  does, and quiet passages get most of the 65,536 levels.

Two optional conditionings,

- global: instrument family and MIDI pitch embeddings, added to every gate (generator);
- local: log-mel frames from the shared pipeline (``soundart.features``), turned
  into per-frame features by a small frame convolution, projected per layer and
  linearly interpolated to the sample rate (vocoder);

and, for the generator, side inputs the input layer reads beside the previous sample:
sines and cosines at the pitch's harmonics, a note clock and the note's level
(``pitch_waves``, ``note_clock``, ``note_level``).

A vocoder may also predict through linear prediction (``lpc_order`` > 0, as in LPCNet,
Valin & Skoglund 2019): per frame, the log-mel's spectral envelope gives all-pole
coefficients and the excitation's expected RMS (:func:`soundart.features.logmel_lpc`); each
sample is ``p + e``, ``p`` the prediction from the previous samples, and the network models
only the excitation ``e``, divided by ``EXCITATION_HEADROOM`` times that RMS, reading its
own previous excitation code. Why: the noise of sampling ``e`` passes through the all-pole
filter and takes the note's spectral shape instead of filling the quiet mel bins as white
noise does (on held-out notes, noise at the mu-law vocoder's one-step error level costs
15.2 dB of log-mel L1 white, 4.7 dB shaped by an order-32 filter, measured on the originals
plus noise); and the level comes from the mel, so the network models a signal of one scale.
The deeper the filter follows the mel's valleys, the less that noise fills them: the shipped
vocoder was trained with order 64, no lag window and a 1e-5 noise floor (``lpc_lag_window_hz``,
``lpc_noise_floor``), where noise of 0.2x the expected excitation level added to the true
excitation costs 1.72 dB of log-mel L1 against 5.56 through order 32 at 40 Hz and 1e-3, and
it samples through order 256 (``synthesis_lpc_order``; 1.12 dB by the same measure).

The network reads the mu-law *companded* value of the previous sample in [-1, 1]
(``2 q / 255 - 1`` for a class ``q``; the 16-bit companded level for the
logistic output) and predicts the distribution of the next one. Samples are
integer codes either way: mu-law classes, or 16-bit levels ``0..65535`` of the
companded amplitude (of the scaled excitation, with linear prediction).
Generation lives in :mod:`soundart.audio.wavenet_generate` (naive recompute path
and the cached "Fast WaveNet" path, checked equal in tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from soundart.errors import BadInputError, ConfigError
from soundart.features import FeatureConfig

MAX_LPC_ORDER = 1024  # linear prediction; a beam search also needs it below the vocoder's n_fft

# the mel-VAE's front end (soundart.audio.melvae.default_features), so the vocoder reads its mels as they are
NOTES_FEATURES = FeatureConfig(sr=16000, n_fft=2048, hop_length=512, n_mels=64, fmax=8000.0, top_db=80.0)


@dataclass
class WaveNetConfig:
    """Shape of a WaveNet.

    Attributes
    ----------
    residual_channels, skip_channels : widths of the residual stream and the skip sum.
    max_dilation_exp : one cycle has dilations 1, 2, ..., 2**max_dilation_exp.
    cycles : how many cycles are stacked.
    output : "mulaw" (categorical over ``n_classes`` mu-law classes) or "logistic" (a
        discretized mixture of ``mixtures`` logistics over 16-bit levels of the
        mu-law companded amplitude, mu 255).
    n_classes : mu-law classes (256 = 8 bit); ``mu = n_classes - 1``.
    mixtures : logistic components (output "logistic").
    log_scale_min : floor of a logistic's log scale; -11 is about one 16-bit step, so
        silence can be predicted as silence.
    input_noise : training only: each crop's teacher-forced inputs (companded, in [-1, 1]) get
        Gaussian noise of a standard deviation drawn uniformly from [0, input_noise], targets
        stay clean. Why: a model fed only clean past samples leans on them, and at sampling time
        its own noise drives it louder and louder; with noisy inputs it has to follow the
        conditioning (the mel) for the level. 0 = off. (On the shipped vocoder, 0.03 for
        8,000 steps gave no clear gain: see recipes/wavenet-vocoder.yaml.)
    lpc_order : vocoder only: each sample is the all-pole prediction from the previous
        ``lpc_order`` samples (coefficients from the mel's envelope) plus an excitation whose
        scaled codes the network models; 0 = off (the network models the sample itself).
    lpc_lag_window_hz, lpc_noise_floor : how smooth that envelope is (``logmel_lpc``'s lag
        window and white-noise floor): less smoothing follows the mel's valleys deeper, so
        the sampling noise fills them less.
    synthesis_lpc_order : the order of the all-pole filters (and of their excitation level) that
        sampling passes the network's excitation through; 0 = ``lpc_order``. Training always
        uses ``lpc_order``: the network reads only its own excitation codes, so sampling stays
        consistent when the filters differ, and deeper filters than it was trained with impose
        more of the mel's harmonic detail (the shipped vocoder: trained at 64, run at 256).
    n_families : instrument families for global conditioning (0: none).
    pitch_conditioning : add a MIDI pitch (0-127) embedding to the global conditioning.
    pitch_waves : generator only: the input layer also reads sines and cosines at the first
        ``pitch_waves`` harmonics of the clip's pitch (:func:`pitch_waves`; harmonics at or above
        Nyquist are zero), as neural source-filter models feed a sine source. In training each
        harmonic's phase is the one measured in the crop (:func:`harmonic_phases`), so the waves are
        in step with the note; sampling starts them all at phase 0 and the note follows them.
        Why: a pitch embedding alone did not make the generator play the pitch (none of 36 notes).
        It needs ``input_noise``: with clean previous samples the network predicts from them and
        leaves the waves unused (tried: the same NLL, still unpitched); and ``note_clock``. With these,
        ``note_level`` and temperature 0.7 the shipped generator plays the asked pitch in 30-31 of 36
        notes (trained on notes scaled to one peak, ``WaveNetDataConfig.peak_normalize``). 0 = off.
    note_clock : generator only: the input layer also reads ``note_clock`` decaying exponentials of
        the time since the note's onset, ``exp(-t / tau)`` with ``tau`` = 25 ms, 100 ms, 400 ms, ...
        (x4 each; :func:`note_clock`). Why: the notes end in seconds of silence, so without knowing
        where in the note it is, a generator fed noisy inputs takes a quiet start for a silent tail
        and stays silent (tried: every one of 36 notes near silent), and one fed clean inputs drives
        itself louder. 0 = off.
    note_level : generator only: the input layer also reads the note's level in dB (the mean square of
        blocks of ``LEVEL_HOP_S``, interpolated between block centres, as ``(dB + 40) / 20``): in
        training the crop's own, when sampling the family's median level at that time after the onset
        (the ``family_level`` buffer, ``(n_families, level_blocks)``, filled from the training notes by
        the recipe; held after its last block). Why: given only the pitch, family and its noisy past, the
        generator picked a level at the onset and 6-8 of 36 notes came out near silent (with it: none of
        36, seeds 0-2). Needs n_families.
    note_level_seconds : how much of that median level ``family_level`` holds.
    sampling_temperature : the temperature sampling uses when none is given (``generate``, ``soundart
        synth wavenet`` without ``--temperature``); the recipe sets what it measured best. The
        shipped generator's is 0.7: with the level input, cooler sampling plays the asked pitch
        more often and stays audible (without it, cooler notes only grew quieter).
    global_channels : size of the global embedding.
    local : condition on log-mel frames (a vocoder).
    frame_channels : width of the per-frame features made from the mel.
    features : the spectral front end the mel frames come from.
    mel_offset, mel_scale : the mel in dB enters the network as ``(L + offset) / scale``.
    sample_rate : audio rate in Hz.
    """

    residual_channels: int = 16
    skip_channels: int = 32
    max_dilation_exp: int = 9
    cycles: int = 2
    output: str = "mulaw"
    n_classes: int = 256
    mixtures: int = 10
    log_scale_min: float = -11.0
    input_noise: float = 0.0
    lpc_order: int = 0
    lpc_lag_window_hz: float = 40.0
    lpc_noise_floor: float = 1e-3
    synthesis_lpc_order: int = 0
    n_families: int = 0
    pitch_conditioning: bool = False
    pitch_waves: int = 0
    note_clock: int = 0
    note_level: bool = False
    note_level_seconds: float = 3.0
    sampling_temperature: float = 1.0
    global_channels: int = 16
    local: bool = False
    frame_channels: int = 32
    features: FeatureConfig = field(default_factory=lambda: NOTES_FEATURES)
    mel_offset: float = 40.0
    mel_scale: float = 40.0
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        if self.residual_channels < 1 or self.skip_channels < 1 or self.cycles < 1:
            raise ConfigError("wavenet: residual_channels, skip_channels and cycles must be >= 1")
        if not 0 <= self.max_dilation_exp <= 14:
            raise ConfigError(f"wavenet: max_dilation_exp must be in 0..14 (got {self.max_dilation_exp})")
        if self.output not in ("mulaw", "logistic"):
            raise ConfigError(f"wavenet: output must be mulaw or logistic (got {self.output!r})")
        if self.n_classes < 2:
            raise ConfigError(f"wavenet: n_classes must be >= 2 (got {self.n_classes})")
        if self.mixtures < 1:
            raise ConfigError(f"wavenet: mixtures must be >= 1 (got {self.mixtures})")
        if self.input_noise < 0:
            raise ConfigError(f"wavenet: input_noise must be >= 0 (got {self.input_noise})")
        if not 0 <= self.lpc_order <= MAX_LPC_ORDER:
            raise ConfigError(f"wavenet: lpc_order must be in 0..{MAX_LPC_ORDER} (got {self.lpc_order})")
        if self.lpc_lag_window_hz < 0 or not 0 < self.lpc_noise_floor <= 1:
            raise ConfigError("wavenet: lpc_lag_window_hz must be >= 0 and lpc_noise_floor in (0, 1] "
                              f"(got {self.lpc_lag_window_hz}, {self.lpc_noise_floor})")
        if not 0 <= self.synthesis_lpc_order <= MAX_LPC_ORDER or (self.synthesis_lpc_order and not self.lpc_order):
            raise ConfigError(f"wavenet: synthesis_lpc_order must be in 0..{MAX_LPC_ORDER} and needs lpc_order > 0 "
                              f"(got {self.synthesis_lpc_order}, lpc_order {self.lpc_order})")
        if self.pitch_waves < 0 or (self.pitch_waves and not self.pitch_conditioning):
            raise ConfigError(f"wavenet: pitch_waves must be >= 0 and needs pitch_conditioning "
                              f"(got {self.pitch_waves})")
        if not 0 <= self.note_clock <= 8:
            raise ConfigError(f"wavenet: note_clock must be in 0..8 (got {self.note_clock})")
        if self.note_level and (self.n_families < 1 or self.local or self.note_level_seconds <= 0):
            raise ConfigError("wavenet: note_level is for a family-conditioned generator (n_families > 0, "
                              f"local false) with note_level_seconds > 0 (got {self.note_level_seconds})")
        if not self.sampling_temperature > 0:
            raise ConfigError(f"wavenet: sampling_temperature must be > 0 (got {self.sampling_temperature})")
        if self.lpc_order and not self.local:
            raise ConfigError("wavenet: lpc_order needs local: true (the coefficients come from the mel)")
        if self.local and self.features.sr != self.sample_rate:
            raise ConfigError(f"wavenet: features.sr {self.features.sr} != sample_rate {self.sample_rate}")

    @property
    def sampling_lpc_order(self) -> int:
        """The all-pole filters' order when sampling (0: no linear prediction)."""
        return self.synthesis_lpc_order or self.lpc_order

    @property
    def level_hop(self) -> int:
        """Samples per level block (``note_level``)."""
        return max(1, int(round(LEVEL_HOP_S * self.sample_rate)))

    @property
    def level_blocks(self) -> int:
        """Blocks of the family levels held for sampling (``note_level_seconds``)."""
        return max(1, math.ceil(self.note_level_seconds * self.sample_rate / self.level_hop))

    @property
    def side_channels(self) -> int:
        """How many side inputs the input layer reads beside the previous sample."""
        return 2 * self.pitch_waves + self.note_clock + int(self.note_level)

    @property
    def dilations(self) -> list[int]:
        return [2 ** i for i in range(self.max_dilation_exp + 1)] * self.cycles

    @property
    def out_channels(self) -> int:
        """Output channels per sample: class logits, or mixture logits, means and log scales."""
        return self.n_classes if self.output == "mulaw" else 3 * self.mixtures

    @property
    def receptive_field(self) -> int:
        """Samples of past input one output depends on."""
        return 1 + sum(self.dilations)

    @classmethod
    def debug(cls, **kw) -> WaveNetConfig:
        """A tiny model for tests."""
        base = dict(residual_channels=8, skip_channels=8, max_dilation_exp=4, cycles=1, global_channels=4,
                    frame_channels=8, features=NOTES_FEATURES.replace(n_fft=256, hop_length=64, n_mels=16, n_mfcc=16))
        base.update(kw)
        return cls(**base)


def mulaw_encode(audio: torch.Tensor, n_classes: int = 256) -> torch.Tensor:
    """Audio in [-1, 1] ``(...)`` -> mu-law classes ``(...)`` int64 in ``[0, n_classes)``."""
    mu = n_classes - 1
    x = audio.clamp(-1.0, 1.0)
    f = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((f + 1) / 2 * mu + 0.5).floor().long().clamp(0, mu)


def mulaw_companded(q: torch.Tensor, n_classes: int = 256) -> torch.Tensor:
    """Classes -> the companded value in [-1, 1] the network reads as input."""
    return 2.0 * q.to(torch.get_default_dtype() if not q.is_floating_point() else q.dtype) / (n_classes - 1) - 1.0


def mulaw_decode(q: torch.Tensor, n_classes: int = 256, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Mu-law classes ``(...)`` -> audio in [-1, 1] ``(...)`` (float32 unless ``dtype``)."""
    mu = n_classes - 1
    f = 2.0 * q.to(dtype) / mu - 1.0
    return torch.sign(f) * ((1 + mu) ** f.abs() - 1) / mu


EXCITATION_HEADROOM = 16.0  # linear prediction: codes span +-16 times the frame's expected excitation RMS
LEVELS = 65536  # 16-bit levels of the companded amplitude: the logistic output's codes
COMPAND_MU = 255  # the logistic output's companding


def compand(x: torch.Tensor, mu: int = COMPAND_MU) -> torch.Tensor:
    """Continuous mu-law companding of amplitudes in [-1, 1] (quiet detail gets most of the range)."""
    return torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)


def expand(y: torch.Tensor, mu: int = COMPAND_MU) -> torch.Tensor:
    """Inverse of :func:`compand`."""
    return torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu


def level_encode(audio: torch.Tensor) -> torch.Tensor:
    """Audio in [-1, 1] -> 16-bit levels ``0..65535`` (int64) of its companded value."""
    y = compand(audio.double().clamp(-1.0, 1.0))
    return torch.floor((y + 1) / 2 * (LEVELS - 1) + 0.5).long()


def level_value(codes: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """16-bit levels -> the companded value in [-1, 1] (what the network reads and predicts)."""
    return codes.to(dtype) * (2.0 / (LEVELS - 1)) - 1.0


def level_decode(codes: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """16-bit levels -> audio in [-1, 1] (computed in float64; float32 unless ``dtype``)."""
    return expand(level_value(codes, torch.float64)).to(dtype)


def logistic_mixture_nll(params: torch.Tensor, x: torch.Tensor, mixtures: int, log_scale_min: float) -> torch.Tensor:
    """Mean NLL (nats per sample) of 16-bit levels ``x`` ``(B, T)`` (in [-1, 1]) under a logistic mixture.

    ``params`` ``(B, 3 * mixtures, T)``: mixture logits, means, log scales. Each level is
    the bin ``x +- 1 / (LEVELS - 1)``; the two end levels take the tails (PixelCNN++).
    """
    logits, means, log_scales = params.split(mixtures, dim=1)
    log_scales = log_scales.clamp(min=log_scale_min)
    x = x.unsqueeze(1)
    half = 1.0 / (LEVELS - 1)
    centred = x - means
    inv_s = torch.exp(-log_scales)
    plus = inv_s * (centred + half)
    minus = inv_s * (centred - half)
    log_cdf_plus = plus - F.softplus(plus)          # log sigmoid(plus): the bottom level's mass
    log_one_minus_cdf_min = -F.softplus(minus)       # log (1 - sigmoid(minus)): the top level's mass
    cdf_delta = torch.sigmoid(plus) - torch.sigmoid(minus)
    mid = inv_s * centred
    # where the bin's mass underflows in float32, use the density at the centre times the bin width
    log_pdf_mid = mid - log_scales - 2 * F.softplus(mid) + math.log(2 * half)
    inner = torch.where(cdf_delta > 1e-5, torch.log(cdf_delta.clamp_min(1e-12)), log_pdf_mid)
    log_probs = torch.where(x <= -1 + half, log_cdf_plus, torch.where(x >= 1 - half, log_one_minus_cdf_min, inner))
    return -torch.logsumexp(log_probs + F.log_softmax(logits, dim=1), dim=1).mean()


def midi_hz(pitch: torch.Tensor) -> torch.Tensor:
    """MIDI pitch -> frequency in Hz (float64), A4 = 69 = 440 Hz."""
    return 440.0 * 2.0 ** ((pitch.double() - 69.0) / 12.0)


def pitch_waves(pitch: torch.Tensor, n_samples: int, harmonics: int, sample_rate: int,
                phase: torch.Tensor | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Sines, then cosines, at harmonics ``1..harmonics`` of each clip's MIDI ``pitch`` ``(B,)``:
    ``(B, 2 * harmonics, n_samples)``; ``phase`` ``(B, harmonics)`` radians at sample 0 (default 0).
    Harmonics at or above Nyquist are zero. Computed in float64 (the phase taken modulo one cycle
    per sample index, so long clips keep their precision), returned in ``dtype``."""
    cycles = midi_hz(pitch.reshape(-1)).cpu()[:, None] * torch.arange(1, harmonics + 1, dtype=torch.float64) \
        / sample_rate  # (B, K) cycles per sample
    t = torch.arange(n_samples, dtype=torch.float64)
    angle = 2 * math.pi * torch.remainder(cycles[:, :, None] * t, 1.0)
    if phase is not None:
        angle = angle + phase.detach().double().cpu()[:, :, None]
    below = (cycles < 0.5).double()[:, :, None]
    waves = torch.cat([torch.sin(angle) * below, torch.cos(angle) * below], dim=1)
    return waves.to(device=pitch.device, dtype=dtype)


NOTE_CLOCK_TAU_S = 0.025  # the first note-clock time constant; each next one is 4 times longer


def note_clock(start: torch.Tensor, n_samples: int, channels: int, sample_rate: int,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``exp(-(start + t) / tau_i)`` for ``tau_i = NOTE_CLOCK_TAU_S * 4**i`` seconds: ``(B, channels,
    n_samples)``, where ``start`` ``(B,)`` is each clip's first sample's offset from the note's onset."""
    t = (start.reshape(-1).double().cpu()[:, None] + torch.arange(n_samples, dtype=torch.float64)) / sample_rate
    tau = NOTE_CLOCK_TAU_S * 4.0 ** torch.arange(channels, dtype=torch.float64)
    return torch.exp(-t[:, None, :] / tau[None, :, None]).to(device=start.device, dtype=dtype)


LEVEL_HOP_S = 0.032  # the note level's block: 512 samples at 16 kHz
LEVEL_FLOOR_DB = -80.0


def level_blocks_db(audio: torch.Tensor, hop: int) -> torch.Tensor:
    """``audio`` ``(B, T)`` -> each block of ``hop`` samples' mean square in dB ``(B, ceil(T / hop))``,
    floored at ``LEVEL_FLOOR_DB`` (a last short block is averaged over the samples it has)."""
    B, T = audio.shape
    n = -(-T // hop)
    power = F.pad(audio.detach().double() ** 2, (0, n * hop - T)).view(B, n, hop).sum(-1)
    count = torch.full((n,), float(hop), dtype=torch.float64, device=audio.device)
    count[-1] = T - (n - 1) * hop
    floor = 10.0 ** (LEVEL_FLOOR_DB / 10)
    return 10.0 * torch.log10(power / count + floor)


def level_track(blocks_db: torch.Tensor, n_samples: int, hop: int, dtype: torch.dtype = torch.float32,
                start: torch.Tensor | None = None) -> torch.Tensor:
    """Block levels in dB ``(B, F)`` -> the input the network reads ``(B, 1, n_samples)``: ``(dB + 40) / 20``
    interpolated linearly between block centres, held before the first and after the last; ``start``
    ``(B,)``: each clip's first sample's offset from block 0's start (default 0)."""
    B, n_blocks = blocks_db.shape
    start = torch.zeros(B, dtype=torch.long) if start is None else start.reshape(-1).long().cpu()
    t = start[:, None].double() + torch.arange(n_samples, dtype=torch.float64)  # (B, T) samples after block 0
    pos = ((t + 0.5) / hop - 0.5).clamp(0, n_blocks - 1)  # in blocks, between centres
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp(max=n_blocks - 1)
    w = pos - i0.double()
    db = blocks_db.double().cpu()
    track = torch.gather(db, 1, i0) * (1 - w) + torch.gather(db, 1, i1) * w
    return ((track + 40.0) / 20.0)[:, None, :].to(device=blocks_db.device, dtype=dtype)


def harmonic_phases(audio: torch.Tensor, pitch: torch.Tensor, harmonics: int, sample_rate: int) -> torch.Tensor:
    """Each harmonic's phase in ``audio`` ``(B, T)`` at sample 0, ``(B, harmonics)`` radians."""
    return _phases_along(audio, pitch_waves(pitch, audio.shape[-1], harmonics, sample_rate, dtype=torch.float64))


def _phases_along(audio: torch.Tensor, waves: torch.Tensor) -> torch.Tensor:
    """Each harmonic's phase in ``audio`` ``(B, T)`` against its phase-0 ``waves`` ``(B, 2K, T)`` (float64):
    for ``x ~ A sin(w t + p)``, ``sum x sin(w t) ~ A T cos(p) / 2`` and ``sum x cos(w t) ~ A T sin(p) / 2``."""
    k = waves.shape[1] // 2
    x = audio.detach().double()[:, None, :]
    along_sin = (x * waves[:, :k].to(x.device)).sum(-1)
    along_cos = (x * waves[:, k:].to(x.device)).sum(-1)
    return torch.atan2(along_cos, along_sin).cpu()


def _shift_phases(waves: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """Phase-0 ``waves`` ``(B, 2K, T)`` advanced by ``phase`` ``(B, K)`` radians: ``sin(a + p) = sin a cos p
    + cos a sin p``, ``cos(a + p) = cos a cos p - sin a sin p`` (what ``pitch_waves`` gives with ``phase``)."""
    k = waves.shape[1] // 2
    sin, cos = waves[:, :k], waves[:, k:]
    c, s = torch.cos(phase)[:, :, None].to(waves), torch.sin(phase)[:, :, None].to(waves)
    return torch.cat([sin * c + cos * s, cos * c - sin * s], dim=1)


def upsample_frames(frames: torch.Tensor, n_samples: int, hop: int) -> torch.Tensor:
    """Linearly interpolate frame features ``(B, C, F)`` to samples ``(B, C, n_samples)``.

    Frame ``f`` is centred on sample ``f * hop`` (the pipeline's ``center=True``);
    samples past the last frame hold its value.
    """
    idx0, idx1, w = interpolation_table(n_samples, hop, frames.shape[-1], frames.device, frames.dtype)
    return frames[..., idx0] * (1 - w) + frames[..., idx1] * w


def all_pole_filter(excitation: torch.Tensor, coeffs: torch.Tensor, hop: int) -> torch.Tensor:
    """``x[t] = e[t] - sum_k a[k - 1] x[t - k]`` with the coefficients ``(B, F, order)`` of the frame
    nearest each sample, from zero history: excitation ``(B, T)`` -> ``(B, T)`` float64."""
    import numpy as np

    a = coeffs.double().cpu().numpy()
    order = a.shape[-1]
    e = excitation.double().cpu().numpy()
    frame = frame_index(e.shape[-1], a.shape[1], hop).numpy()
    x = np.zeros((e.shape[0], e.shape[1] + order))  # `order` zeros of history, then the output
    for t in range(e.shape[1]):
        x[:, t + order] = e[:, t] - (a[:, frame[t]] * x[:, t:t + order][:, ::-1]).sum(1)  # x[t-1] .. x[t-order]
    return torch.from_numpy(x[:, order:]).to(excitation.device)


def frame_index(n_samples: int, n_frames: int, hop: int, device=None) -> torch.Tensor:
    """The frame nearest each sample ``(n_samples,)``: frame ``f`` is centred on sample ``f * hop``."""
    return torch.clamp((torch.arange(n_samples, device=device) + hop // 2) // hop, max=n_frames - 1)


def interpolation_table(n_samples: int, hop: int, n_frames: int, device=None, dtype=torch.float32):
    """``(idx0, idx1, w)`` such that sample t = (1 - w) frame[idx0] + w frame[idx1]."""
    t = torch.arange(n_samples, device=device)
    idx0 = torch.clamp(t // hop, max=n_frames - 1)
    idx1 = torch.clamp(idx0 + 1, max=n_frames - 1)
    w = ((t - (t // hop) * hop).to(dtype) / hop)
    w = torch.where(t // hop >= n_frames - 1, torch.zeros_like(w), w)
    return idx0, idx1, w


class WaveNet(nn.Module):
    """Causal dilated-convolution audio model with a mu-law categorical or logistic-mixture output.

    ``forward(inputs, family, pitch, mel)``: ``inputs`` ``(B, T)`` companded previous samples
    -> ``(B, config.out_channels, T)`` (class logits, or mixture logits/means/log scales), where
    output ``t`` predicts sample ``t`` from inputs ``<= t``.
    """

    kind = "wavenet"
    config_class = WaveNetConfig

    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        self.config = config
        R, S, G = config.residual_channels, config.skip_channels, config.global_channels
        L = len(config.dilations)
        # the previous sample, and the side inputs: the pitch's waves, the note clock and level
        self.input = nn.Conv1d(1 + config.side_channels, R, 1)
        self.dilated = nn.ModuleList([nn.Conv1d(R, 2 * R, 2) for _ in range(L)])   # taps (t - d, t)
        self.residual = nn.ModuleList([nn.Conv1d(R, R, 1) for _ in range(L)])
        self.skip = nn.ModuleList([nn.Conv1d(R, S, 1) for _ in range(L)])
        self.out1 = nn.Conv1d(S, S, 1)
        self.out2 = nn.Conv1d(S, config.out_channels, 1)
        self.family_embed = nn.Embedding(config.n_families, G) if config.n_families > 0 else None
        self.pitch_embed = nn.Embedding(128, G) if config.pitch_conditioning else None
        self.global_proj = (nn.Linear(G, 2 * R * L, bias=False)
                            if (self.family_embed is not None or self.pitch_embed is not None) else None)
        if config.local:
            C = config.frame_channels
            self.frame_net = nn.Sequential(nn.Conv1d(config.features.n_mels, C, 3, padding=1), nn.Tanh(),
                                           nn.Conv1d(C, C, 3, padding=1), nn.Tanh())
            self.local_proj = nn.Conv1d(C, 2 * R * L, 1, bias=False)
        else:
            self.frame_net = None
            self.local_proj = None
        if config.note_level:
            # each family's median level (dB) per block after the onset, for sampling: saved with the weights
            self.register_buffer("family_level", torch.full((config.n_families, config.level_blocks),
                                                            LEVEL_FLOOR_DB))

    # ---- conditioning -------------------------------------------------------------------------
    def global_bias(self, batch: int, family: torch.Tensor | None, pitch: torch.Tensor | None,
                    device=None, dtype=None) -> torch.Tensor:
        """Per-layer gate bias ``(B, L, 2R)``: conv biases plus the global conditioning."""
        L, R = len(self.config.dilations), self.config.residual_channels
        bias = torch.stack([conv.bias for conv in self.dilated])  # (L, 2R)
        out = bias.unsqueeze(0).expand(batch, L, 2 * R)
        if self.global_proj is not None:
            g = 0
            if self.family_embed is not None:
                if family is None:
                    raise ConfigError("this WaveNet needs a family (it is family-conditioned)")
                g = g + self.family_embed(family.to(self.family_embed.weight.device).long().reshape(batch))
            if self.pitch_embed is not None:
                if pitch is None:
                    raise ConfigError("this WaveNet needs a pitch (it is pitch-conditioned)")
                g = g + self.pitch_embed(pitch.to(self.pitch_embed.weight.device).long().reshape(batch))
            out = out + self.global_proj(g).view(batch, L, 2 * R)
        return out

    def side_inputs(self, pitch: torch.Tensor | None, n_samples: int, dtype: torch.dtype,
                    audio: torch.Tensor | None = None, start: torch.Tensor | None = None,
                    family: torch.Tensor | None = None) -> torch.Tensor | None:
        """What the input layer reads beside the previous sample, ``(B, side_channels, n_samples)`` (None
        without side inputs): the pitch waves, then the note clock from ``start`` ``(B,)`` samples after
        the onset (needed with a note clock), then the note's level. With ``audio`` (training, measuring)
        the waves are in step with it and the level is its own; without (sampling) the waves start at
        phase 0 and the level is ``family``'s median from ``start`` on."""
        cfg = self.config
        parts = []
        if cfg.pitch_waves:
            if pitch is None:
                raise ConfigError("this WaveNet needs a pitch (it is pitch-conditioned)")
            waves = pitch_waves(pitch.reshape(-1), n_samples, cfg.pitch_waves, cfg.sample_rate, dtype=torch.float64)
            if audio is not None:  # in step with the note: its phases, measured against these same waves
                waves = _shift_phases(waves, _phases_along(audio, waves))
            parts.append(waves.to(device=pitch.device, dtype=dtype))
        if cfg.note_clock:
            if start is None:
                raise ConfigError("this WaveNet reads a note clock: give each clip's start after the onset")
            parts.append(note_clock(start, n_samples, cfg.note_clock, cfg.sample_rate, dtype))
        if cfg.note_level:
            if audio is not None:
                parts.append(level_track(level_blocks_db(audio, cfg.level_hop), n_samples, cfg.level_hop, dtype))
            else:
                if family is None:
                    raise ConfigError("this WaveNet needs a family (it is family-conditioned)")
                levels = self.family_level[family.to(self.family_level.device).long().reshape(-1)]
                parts.append(level_track(levels, n_samples, cfg.level_hop, dtype, start))
        if not parts:
            return None
        return torch.cat([p.to(parts[0].device) for p in parts], dim=1)

    def onset_side_inputs(self, batch: int, n_samples: int, dtype: torch.dtype, pitch: torch.Tensor | None = None,
                          family: torch.Tensor | None = None) -> torch.Tensor | None:
        """The side inputs as sampled for ``batch`` clips that start at the note's onset (generation)."""
        return self.side_inputs(pitch, n_samples, dtype, start=torch.zeros(batch, dtype=torch.long), family=family)

    def frame_conditioning(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``(B, n_mels, F)`` in dB -> per-layer gate inputs per frame ``(B, L, 2R, F)``."""
        cfg = self.config
        if self.local_proj is None:
            raise ConfigError("this WaveNet is not a vocoder (no local conditioning)")
        check_mel(mel, cfg.features.n_mels)
        x = (mel + cfg.mel_offset) / cfg.mel_scale
        h = self.local_proj(self.frame_net(x))  # (B, L*2R, F)
        return h.view(h.shape[0], len(cfg.dilations), 2 * cfg.residual_channels, h.shape[-1])

    # ---- the network --------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, family: torch.Tensor | None = None, pitch: torch.Tensor | None = None,
                mel: torch.Tensor | None = None, side: torch.Tensor | None = None) -> torch.Tensor:
        """``side``: the side inputs (:meth:`side_inputs`; default: as sampled from the note's onset)."""
        B, T = inputs.shape
        cfg = self.config
        if side is None and cfg.side_channels:
            side = self.onset_side_inputs(B, T, inputs.dtype, pitch, family)
        add_local = None
        if self.local_proj is not None:
            frames = self.frame_conditioning(mel)  # (B, L, 2R, F)
            idx0, idx1, w = interpolation_table(T, cfg.features.hop_length, frames.shape[-1], inputs.device,
                                                frames.dtype)

            def add_local(z: torch.Tensor, i: int) -> torch.Tensor:
                fr = frames[:, i]  # (B, 2R, F)
                return z + fr[..., idx0] * (1 - w) + fr[..., idx1] * w

        return self.network(inputs, self.global_bias(B, family, pitch), add_local, side)

    def network(self, inputs: torch.Tensor, gbias: torch.Tensor, add_local=None,
                side: torch.Tensor | None = None) -> torch.Tensor:
        """The layers over ``inputs`` ``(B, W)`` -> ``(B, out_channels, W)``, given the gate biases ``gbias``
        ``(B, L, 2R)`` (:meth:`global_bias`), ``add_local(z, i)`` -> layer ``i``'s gate input ``z``
        ``(B, 2R, W)`` plus its local conditioning (None: none) and the side inputs ``(B, C, W)`` (or None).
        :meth:`forward` and the naive generator (over a window of the past) both run this."""
        x = inputs.unsqueeze(1)
        h = self.input(x if side is None else torch.cat([x, side.to(x)], dim=1))  # (B, R, W)
        skip = 0
        for i, d in enumerate(self.config.dilations):
            z = F.conv1d(F.pad(h, (d, 0)), self.dilated[i].weight, None, dilation=d)  # (B, 2R, W)
            z = z + gbias[:, i, :, None]
            if add_local is not None:
                z = add_local(z, i)
            a, b = z.chunk(2, dim=1)
            g = torch.tanh(a) * torch.sigmoid(b)
            h = h + self.residual[i](g)
            skip = skip + self.skip[i](g)
        return self.out2(F.relu(self.out1(F.relu(skip))))

    # ---- sample codes ---------------------------------------------------------------------------
    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio in [-1, 1] -> the integer codes the model predicts (mu-law classes or 16-bit levels)."""
        if self.config.output == "mulaw":
            return mulaw_encode(audio, self.config.n_classes)
        return level_encode(audio)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Integer codes -> audio in [-1, 1] (float32)."""
        if self.config.output == "mulaw":
            return mulaw_decode(codes, self.config.n_classes)
        return level_decode(codes)

    def code_value(self, codes: torch.Tensor) -> torch.Tensor:
        """Integer codes -> amplitude in float64 (what the sampling loops add to the prediction)."""
        if self.config.output == "mulaw":
            return mulaw_decode(codes, self.config.n_classes, torch.float64)
        return level_decode(codes, torch.float64)

    def lpc_coefficients(self, mel: torch.Tensor, sampling: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mel ``(B, n_mels, F)`` -> all-pole coefficients ``(B, F, order)`` and the excitation's
        scale per frame ``(B, F)`` (codes are of excitation / scale), both float64; ``order`` is
        ``lpc_order`` (training, measuring) or with ``sampling`` ``sampling_lpc_order``."""
        from soundart.features import logmel_lpc

        cfg = self.config
        order = cfg.sampling_lpc_order if sampling else cfg.lpc_order
        coeffs, gain = logmel_lpc(mel, cfg.features, order, cfg.lpc_lag_window_hz, cfg.lpc_noise_floor)
        return coeffs, gain * EXCITATION_HEADROOM

    def lpc_codes(self, audio: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """The codes of ``audio``'s ``(B, T)`` scaled excitation under linear prediction from its own
        past (teacher forcing) ``(B, T)``: what the network learns to predict."""
        coeffs, scale = self.lpc_coefficients(mel)
        x = audio.double()
        frame = frame_index(x.shape[-1], coeffs.shape[1], self.config.features.hop_length, x.device)
        order = self.config.lpc_order
        # (B, T, order): x[t - 1], ..., x[t - order] (zeros before the start), one product for all lags
        past = F.pad(x, (order, 0)).unfold(-1, order, 1)[:, :-1].flip(-1)
        pred = -torch.einsum("btk,btk->bt", past, coeffs[:, frame])
        return self.encode(((x - pred) / scale[:, frame]).clamp(-1.0, 1.0))

    def lpc_synthesize(self, codes: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """Excitation codes ``(B, T)`` -> audio ``(B, T)`` float64 through the mel's all-pole filters, as
        the sampling loops do (each sample clipped to [-1, 1]); for measuring, not for sampling."""
        coeffs, scale = self.lpc_coefficients(mel)
        hop = self.config.features.hop_length
        excitation = self.code_value(codes) * scale[:, frame_index(codes.shape[-1], scale.shape[1], hop)]
        return all_pole_filter(excitation, coeffs, hop).clamp(-1.0, 1.0)

    def code_input(self, codes: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Integer codes -> the companded value the network reads as the previous sample."""
        if self.config.output == "mulaw":
            return mulaw_companded(codes.to(dtype), self.config.n_classes)
        return level_value(codes, dtype)

    # ---- training -----------------------------------------------------------------------------
    def loss(self, audio: torch.Tensor, family: torch.Tensor | None = None, pitch: torch.Tensor | None = None,
             mel: torch.Tensor | None = None, start: torch.Tensor | None = None,
             as_sampled: bool = False) -> torch.Tensor:
        """Mean NLL (nats per sample) of the codes of ``audio`` ``(B, T)``: 256 mu-law classes or 16-bit
        levels (of the excitation, with linear prediction). ``start`` ``(B,)``: where each crop starts
        after its note's onset (the note clock; default 0). Side inputs as trained (pitch waves with the
        phases measured in ``audio``, its own level), or ``as_sampled`` (waves from phase 0, the
        family's median level)."""
        if self.config.lpc_order:
            if mel is None:
                raise ConfigError("this WaveNet is a vocoder: give it a log-mel")
            q = self.lpc_codes(audio, mel)
        else:
            q = self.encode(audio)
        prev = F.pad(self.code_input(q[:, :-1], audio.dtype), (1, 0))
        if self.training and self.config.input_noise > 0:
            std = torch.rand(prev.shape[0], 1, device=prev.device, dtype=prev.dtype) * self.config.input_noise
            prev = prev + std * torch.randn_like(prev)
        if start is None:
            start = torch.zeros(audio.shape[0], dtype=torch.long)
        side = self.side_inputs(pitch, audio.shape[-1], audio.dtype, None if as_sampled else audio, start, family)
        out = self(prev, family, pitch, mel, side)
        if self.config.output == "mulaw":
            return F.cross_entropy(out, q)
        return logistic_mixture_nll(out, level_value(q, out.dtype), self.config.mixtures,
                                    self.config.log_scale_min)

    def training_step(self, batch: dict) -> torch.Tensor:
        return self.loss(batch["audio"], batch.get("family"), batch.get("pitch"), batch.get("mel"), batch.get("start"))

    def validation_step(self, batch: dict) -> dict:
        return {"loss": float(self.training_step(batch).detach())}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def check_mel(mel: torch.Tensor, n_mels: int) -> None:
    """A BadInputError for a mel of the wrong shape or with NaN/inf values."""
    if mel.dim() != 3:
        raise BadInputError(f"log-mel must be (batch, bands, frames), got shape {tuple(mel.shape)}")
    if mel.shape[1] != n_mels:
        raise BadInputError(f"log-mel has {mel.shape[1]} mel bands but the model expects {n_mels}")
    if mel.shape[-1] < 1:
        raise BadInputError("log-mel has no frames")
    if not torch.isfinite(mel).all():
        raise BadInputError("log-mel contains NaN or infinite values")
