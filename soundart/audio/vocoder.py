"""Log-mel -> audio: one entry point, :func:`vocode`, over the available vocoders.

``griffinlim`` inverts the log-mel through the shared spectral pipeline
(un-log, non-negative least-squares un-mel, fast Griffin-Lim). ``wavenet``
runs the shipped WaveNet mel vocoder (``soundart.audio.wavenet_vocoder.vocode_wavenet``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soundart.errors import BadInputError, ConfigError

if TYPE_CHECKING:
    import torch

    from soundart.features import FeatureConfig

METHODS = ("griffinlim", "wavenet")


def vocode(logmel: torch.Tensor, feature_config: FeatureConfig, method: str = "griffinlim",
           device: str = "cpu", seed: int | None = None, n_iter: int = 64, beam: int | None = None) -> torch.Tensor:
    """Turn log-mel spectrograms back into audio.

    Parameters
    ----------
    logmel : (B, n_mels, frames) in the units of ``feature_config.log`` (dB by default).
    feature_config : the front end that made (or that a model used for) the log-mel.
    method : "griffinlim" | "wavenet".
    device : where to run ("cpu", "cuda", "auto").
    seed : seeds Griffin-Lim's random initial phase (None: a fresh one).
    n_iter : Griffin-Lim iterations.
    beam : WaveNet only: paths of its mel-guided search (None: ``DEFAULT_VOCODER_BEAM``; 1: plain sampling).

    Returns
    -------
    audio : float32 (B, samples) at ``feature_config.sr``,
        ``samples = (frames - 1) * hop_length``.
    """
    import torch

    from soundart.features import logmel_to_audio
    from soundart.runtime import resolve_device

    if method not in METHODS:
        raise ConfigError(f"unknown vocoder {method!r} (known: {', '.join(METHODS)})")
    if logmel.dim() != 3 or logmel.shape[1] != feature_config.n_mels:
        raise BadInputError(f"vocode expects a log-mel of shape (B, {feature_config.n_mels}, frames), "
                            f"got {tuple(logmel.shape)}")
    if method == "wavenet":
        from soundart.audio.wavenet_vocoder import DEFAULT_VOCODER_BEAM, vocode_wavenet

        return vocode_wavenet(logmel.float().cpu(), feature_config, device=device, seed=seed, progress=True,
                              beam=DEFAULT_VOCODER_BEAM if beam is None else beam)
    dev = resolve_device(device)
    generator = None if seed is None else torch.Generator().manual_seed(int(seed))
    length = (logmel.shape[-1] - 1) * feature_config.hop_length
    audio = logmel_to_audio(logmel.to(dev).float(), feature_config, n_iter=n_iter, length=length,
                            generator=generator)
    return audio.cpu()
