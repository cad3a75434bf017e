"""Mel-guided beam search over a WaveNet vocoder's sampled paths (the fast generator's ``beam`` > 1).

Every clip runs ``beam * BEAM_CHILDREN`` sampled paths, scored against the log-mel it was given
whenever a frame's window is complete; the best ``beam`` paths go on (:class:`MelBeamSearch`).
What the child temperatures and beam widths measured: ``recipes/notes/wavenet-vocoder.md``.
"""

from __future__ import annotations

import torch

from soundart.errors import ConfigError
from soundart.features import logmel

# the continuations of every kept path at each frame, as multiples of the sampling temperature: a hotter
# child widens the choice (measured: recipes/notes/wavenet-vocoder.md, "Beam search")
BEAM_CHILD_TEMPERATURES = (1.0, 1.8)
BEAM_CHILDREN = len(BEAM_CHILD_TEMPERATURES)


def search_paths(beam: int) -> int:
    """Sampled paths per clip for a beam of ``beam`` (1: plain sampling, one path)."""
    return beam * BEAM_CHILDREN if beam > 1 else 1


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

