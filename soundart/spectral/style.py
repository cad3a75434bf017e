"""Audio style transfer in the spectrogram domain.

The image recipe (Gatys et al.) carried over to sound as Ulyanov & Lebedev
proposed it: the log-magnitude spectrogram ``log1p(|STFT|)`` of the content
and of the style (both from :mod:`soundart.features`) is treated as a 1-D
signal over time whose *channels are the frequency bins*, and passed through
one wide convolution layer with fixed random weights and a ReLU. A Gram matrix
of those feature maps over time (which filters fire together, regardless of
when) describes texture and timbre; the feature maps themselves describe what
happens when. We optimise a spectrogram so that its Gram matrix matches the
style's while its feature maps stay near the content's::

    loss = style_weight * ||G(X) - G(S)||^2 / ||G(C) - G(S)||^2
         + content_weight * ||F(X) - F(C)||^2 / ||F(S) - F(C)||^2

Both terms are relative to the gap between the two inputs (the start, X = C,
has a style term of 1; the style itself would have a content term of 1), so
the weights do not depend on loudness, on the number of filters, or on how
far apart the two pieces are. The result gets a phase from fast Griffin-Lim.

As an option (``network="classifier"``) the features are the first
convolutional feature maps of a trained listening classifier instead of the
random layer; that needs :mod:`soundart.listen.classifier`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from soundart.errors import BadInputError, ConfigError
from soundart.features import FeatureConfig, griffin_lim, spectrogram

# Log-magnitude front end: librosa-style STFT, magnitude (power 1), log1p compression.
STYLE_FEATURES = FeatureConfig(sr=22050, n_fft=2048, hop_length=512, power=1.0, log="log1p")
SILENCE_PEAK = 1e-4  # peak amplitude below which an input counts as silent


@dataclass
class StyleResult:
    """What :func:`style_transfer` returns.

    Attributes
    ----------
    audio : (samples,) float32 waveform at ``feature_config.sr``.
    log_magnitude : (n_freqs, frames) the optimised ``log1p(|STFT|)``.
    content_log_magnitude, style_log_magnitude : the inputs' spectrograms (style
        tiled/cropped to the content's frames).
    losses : the total loss after each iteration.
    metrics : Gram and content distances of output, content and style (see
        :func:`style_distances`).
    """

    audio: torch.Tensor
    log_magnitude: torch.Tensor
    content_log_magnitude: torch.Tensor
    style_log_magnitude: torch.Tensor
    losses: list[float] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


class RandomSpectralNet(nn.Module):
    """One fixed, random 1-D convolution over time with frequency bins as channels.

    Parameters
    ----------
    n_freqs : input channels (frequency bins).
    n_filters : output feature maps.
    kernel_size : filter width in frames (wide: ~11 frames = 0.25 s at hop 512).
    seed : the weights are drawn from this seed, so the same net is rebuilt every time.
    """

    def __init__(self, n_freqs: int, n_filters: int = 512, kernel_size: int = 11, seed: int = 0) -> None:
        super().__init__()
        self.conv = nn.Conv1d(n_freqs, n_filters, kernel_size, padding=kernel_size // 2, bias=False)
        g = torch.Generator().manual_seed(seed)
        std = math.sqrt(2.0 / (n_freqs * kernel_size))  # He initialisation keeps ReLU activations O(1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=g) * std)
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_freqs, frames) -> (B, n_filters, frames)."""
        return torch.relu(self.conv(x))


def classifier_front_end(spec: str, cfg: FeatureConfig = STYLE_FEATURES) -> FeatureConfig:
    """``cfg`` with the sample rate, FFT size and hop of the classifier ``spec`` was trained on."""
    from soundart.checkpoint import config_from_dict, read_document
    from soundart.models import DEFAULT_MODELS, shipped_path

    document = read_document(shipped_path(spec) if spec in DEFAULT_MODELS else spec)
    front = document["config"].get("features")
    if not isinstance(front, dict):
        raise ConfigError(f"model {spec!r} has no spectral front end; use network='random'")
    fc = config_from_dict(FeatureConfig, front)
    return cfg.replace(sr=fc.sr, n_fft=fc.n_fft, hop_length=fc.hop_length, win_length=fc.win_length)


def _load_classifier_net(cfg: FeatureConfig, spec: str, device: torch.device) -> nn.Module:
    from soundart.models import load_model

    model = load_model(spec, device=device)
    fc = getattr(model.config, "features", None)
    if fc is None or not hasattr(model, "feature_maps"):
        raise ConfigError(f"model {spec!r} has no feature_maps(); use network='random'")
    return _ClassifierMaps(model, cfg, fc)


class _ClassifierMaps(nn.Module):
    """Feature maps of a trained listening classifier as the style network.

    The (log1p magnitude) input is un-logged, mapped to the classifier's own
    log-mel front end, and passed to its ``feature_maps(logmel) -> (B, C, ..., T)``;
    all axes but channels and time are flattened into channels.
    """

    def __init__(self, model: nn.Module, cfg: FeatureConfig, model_cfg: FeatureConfig) -> None:
        super().__init__()
        if model_cfg.sr != cfg.sr or model_cfg.n_fft != cfg.n_fft:
            raise ConfigError("the classifier's front end (sr, n_fft) differs from the style front end; "
                              f"use cfg=classifier_front_end(...) (sr {model_cfg.sr}, n_fft {model_cfg.n_fft})")
        self.model = model.eval().requires_grad_(False)
        self.cfg, self.model_cfg = cfg, model_cfg

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from soundart.features import amplitude_to_log, mel

        magnitude = torch.expm1(x).clamp(min=0)
        power = magnitude.square() if self.model_cfg.power == 2.0 else magnitude
        maps = self.model.feature_maps(amplitude_to_log(mel(None, self.model_cfg, S=power), self.model_cfg))
        return maps.flatten(1, -2) if maps.ndim > 3 else maps


def log_magnitude(audio: torch.Tensor, cfg: FeatureConfig = STYLE_FEATURES) -> torch.Tensor:
    """``log1p(|STFT|)`` of ``(..., samples)`` -> ``(..., n_freqs, frames)`` via the shared pipeline."""
    return torch.log1p(spectrogram(audio, cfg.replace(power=1.0)))


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix over time: (B, C, T) -> (B, C, C), divided by T (length-independent)."""
    return features @ features.transpose(-1, -2) / features.shape[-1]


def fit_frames(spec: torch.Tensor, frames: int) -> torch.Tensor:
    """Tile (repeat) or crop a (..., bins, T) spectrogram along time to exactly ``frames``."""
    reps = math.ceil(frames / spec.shape[-1])
    return spec.repeat(*([1] * (spec.ndim - 1)), reps)[..., :frames]


def style_distances(net: nn.Module, output: torch.Tensor, content: torch.Tensor,
                    style: torch.Tensor) -> dict[str, float]:
    """Relative Gram and content distances used by the style bars.

    All three inputs are (n_freqs, frames) log-magnitudes of the same length.
    Returns ``gram_output`` (output to style), ``gram_content`` (content to style),
    ``content_output`` (output's features to the content's) and ``content_style``
    (style's features to the content's), each a squared error relative to the
    target's squared norm; and the two ratios the bars compare.
    """
    with torch.no_grad():
        f_out, f_con, f_sty = (net(x.unsqueeze(0)) for x in (output, content, style))
        g_out, g_con, g_sty = gram(f_out), gram(f_con), gram(f_sty)
        g_norm, f_norm = g_sty.square().sum(), f_con.square().sum()
        d = {
            "gram_output": float((g_out - g_sty).square().sum() / g_norm),
            "gram_content": float((g_con - g_sty).square().sum() / g_norm),
            "content_output": float((f_out - f_con).square().sum() / f_norm),
            "content_style": float((f_sty - f_con).square().sum() / f_norm),
        }
    d["gram_ratio"] = d["gram_output"] / max(d["gram_content"], 1e-12)
    d["content_ratio"] = d["content_output"] / max(d["content_style"], 1e-12)
    return d


def check_input(audio: torch.Tensor, name: str, cfg: FeatureConfig) -> torch.Tensor:
    """Mono (samples,) audio, at least one frame long and not silent; else a BadInputError."""
    audio = audio.reshape(-1) if audio.ndim == 1 else audio.mean(dim=0)
    if audio.numel() < cfg.n_fft:
        raise BadInputError(f"{name}: {audio.numel()} samples is shorter than one frame "
                            f"({cfg.n_fft} samples = {cfg.n_fft / cfg.sr * 1000:.0f} ms at {cfg.sr} Hz)")
    if not torch.isfinite(audio).all():
        raise BadInputError(f"{name}: audio contains NaN or infinite samples")
    if float(audio.abs().max()) < SILENCE_PEAK:
        raise BadInputError(f"{name}: audio is silent (peak below {SILENCE_PEAK:g})")
    return audio.float()


def style_transfer(content: torch.Tensor, style: torch.Tensor, *, cfg: FeatureConfig = STYLE_FEATURES,
                   style_weight: float = 1.0, content_weight: float = 0.5, iterations: int = 100,
                   optimizer: str = "lbfgs", init: str = "content", n_filters: int = 512,
                   kernel_size: int = 11, network: str = "random", classifier: str | None = None,
                   griffin_lim_iters: int = 64, seed: int = 0, device: str | torch.device = "cpu",
                   progress: bool = True) -> StyleResult:
    """Give ``content`` the texture of ``style`` by optimising its log-magnitude spectrogram.

    Parameters
    ----------
    content, style : (samples,) or (channels, samples) audio at ``cfg.sr`` Hz (mixed to mono).
        The output has the content's length; the style is tiled or cropped to it.
    cfg : front end; its ``sr``, ``n_fft`` and ``hop_length`` are used (magnitude, log1p).
    style_weight, content_weight : weights of the relative Gram and content losses
        (``content_weight=0`` gives pure texture synthesis).
    iterations : loss evaluations (L-BFGS) or Adam steps, >= 1.
    optimizer : "lbfgs" or "adam".
    init : "content" (start from the content's spectrogram) or "noise".
    n_filters, kernel_size : the random network's width and filter width (frames).
    network : "random" (fixed random 1-D conv) or "classifier" (feature maps of the
        model named by ``classifier``).
    griffin_lim_iters : phase-recovery iterations.
    seed : seeds the random network, the noise init and Griffin-Lim's initial phase.
    progress : report progress on stderr (a bar on a terminal, plain lines in a log).

    Returns
    -------
    StyleResult with the audio (content length) and distances.
    """
    from soundart.progress import progress as progress_bar

    if iterations < 1:
        raise ConfigError(f"--iterations must be >= 1, got {iterations}")
    if optimizer not in ("lbfgs", "adam"):
        raise ConfigError(f"optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")
    if init not in ("content", "noise"):
        raise ConfigError(f"init must be 'content' or 'noise', got {init!r}")
    if style_weight < 0 or content_weight < 0 or style_weight + content_weight == 0:
        raise ConfigError(f"weights must be >= 0 and not both 0 (style {style_weight}, content {content_weight})")
    if network not in ("random", "classifier"):
        raise ConfigError(f"network must be 'random' or 'classifier', got {network!r}")
    device = torch.device(device)
    cfg = cfg.replace(power=1.0, log="log1p")
    content = check_input(content, "content", cfg).to(device)
    style = check_input(style, "style", cfg).to(device)
    n_samples = content.numel()

    C = log_magnitude(content, cfg).contiguous()                         # (F, T)
    S = fit_frames(log_magnitude(style, cfg), C.shape[-1]).contiguous()  # (F, T)
    if network == "random":
        net: nn.Module = RandomSpectralNet(C.shape[0], n_filters, kernel_size, seed=seed).to(device)
    else:
        if classifier is None:
            raise ConfigError("network='classifier' needs classifier=NAME_OR_PATH")
        net = _load_classifier_net(cfg, classifier, device)
    with torch.no_grad():
        f_content = net(C.unsqueeze(0))
        f_style = net(S.unsqueeze(0))
        g_content, g_style = gram(f_content), gram(f_style)
        # Each term is measured against the gap between the two inputs, so a weight means the same
        # trade-off for two similar pieces as for two very different ones (a weight of 1 on both
        # values moving the Gram matrices all the way to the style as much as keeping the features).
        f_norm = f_content.square().sum()
        g_norm = g_style.square().sum()
        content_gap = (f_style - f_content).square().sum().clamp(min=1e-6 * float(f_norm) + 1e-12)
        style_gap = (g_content - g_style).square().sum().clamp(min=1e-6 * float(g_norm) + 1e-12)

    g = torch.Generator().manual_seed(seed)
    if init == "content":
        start = C.clone()
    else:
        start = (torch.rand(C.shape, generator=g) * float(C.mean()) * 2).to(device)
    X = start.unsqueeze(0).contiguous().requires_grad_(True)

    def objective() -> torch.Tensor:
        feats = net(X)
        loss_style = (gram(feats) - g_style).square().sum() / style_gap
        loss_content = (feats - f_content).square().sum() / content_gap
        return style_weight * loss_style + content_weight * loss_content

    losses: list[float] = []
    bar = progress_bar(total=iterations, desc="style transfer", unit="it", quiet=not progress, leave=False)
    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([X], lr=1.0, max_iter=iterations, max_eval=iterations, history_size=20,
                                tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = objective()
            loss.backward()
            if len(losses) < iterations:
                losses.append(float(loss.detach()))
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4g}")
            return loss

        opt.step(closure)
    else:
        opt_adam = torch.optim.Adam([X], lr=0.05)
        for _ in range(iterations):
            opt_adam.zero_grad()
            loss = objective()
            loss.backward()
            opt_adam.step()
            losses.append(float(loss.detach()))
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4g}")
    bar.close()

    out = X.detach()[0].clamp(min=0)  # log1p of a magnitude is >= 0
    magnitude = torch.expm1(out)
    gen = torch.Generator().manual_seed(seed)
    audio = griffin_lim(magnitude, cfg, n_iter=griffin_lim_iters, length=n_samples, generator=gen)
    peak = float(audio.abs().max())
    if peak > 0.99:
        audio = audio * (0.99 / peak)
    metrics = style_distances(net, out, C, S)
    return StyleResult(audio=audio.cpu(), log_magnitude=out.cpu(), content_log_magnitude=C.cpu(),
                       style_log_magnitude=S.cpu(), losses=losses, metrics=metrics)
