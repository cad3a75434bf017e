"""Warm starts of a WaveNet (``init_from`` in a recipe's data): which weights a start may lack, and how a
narrower start is widened so that the wider model computes exactly what it did."""

from __future__ import annotations

import dataclasses

import torch

from soundart.audio.wavenet import WaveNet
from soundart.errors import ConfigError
from soundart.train.warm_start import WarmStartRules, warm_start

FIT_HINT = "only the output layer may differ, or the residual and skip channels grow"


def widen(start: WaveNet, model: WaveNet) -> bool:
    """A start with fewer residual or skip channels (all else equal) is widened into ``model``."""
    want, have = model.config, start.config
    if (want.residual_channels, want.skip_channels) == (have.residual_channels, have.skip_channels):
        return False
    same = dataclasses.replace(want, residual_channels=have.residual_channels, skip_channels=have.skip_channels)
    if same != have or want.residual_channels < have.residual_channels or want.skip_channels < have.skip_channels:
        raise ConfigError(f"its weights do not fit the recipe's model ({FIT_HINT})")
    widen_into(start, model)
    return True


# the output layer may differ (mu-law body -> logistic mixture); the family levels are not learned,
# prepare fills them from the training notes
WARM_START = WarmStartRules(same=((("features",), "log-mel front end"),),
                            may_differ=frozenset({"out2.weight", "out2.bias", "family_level"}),
                            fit_hint=FIT_HINT, reshape=widen)


def init_from(model: WaveNet, spec: str) -> list[str]:
    """Copy ``spec``'s weights into ``model``; returns the names left fresh (the output layer at most).

    A start with fewer residual or skip channels is widened into ``model`` (``widen_into``).
    """
    return list(warm_start(model, spec, WARM_START).fresh)


@torch.no_grad()
def widen_into(narrow: WaveNet, wide: WaveNet) -> None:
    """Copy ``narrow`` into ``wide`` (more residual and/or skip channels, all else equal) so that
    ``wide`` computes exactly ``narrow``'s outputs, and every new weight can still learn.

    The old channels keep their indices (the gate's sigmoid half moves up to the wide model's
    second half). New residual channels start at zero and stay there at first: their input and
    residual rows are zero, so the old layers read nothing new. New gate units and new skip
    channels keep the wide model's random initialisation, but the weights that would carry them
    into the old residual, skip and output channels are zero. Why random there: a unit whose output
    is exactly zero gets no gradient through its ReLU or its zero outgoing weights, and would
    never start learning.
    """
    R0, S0 = narrow.config.residual_channels, narrow.config.skip_channels
    R = wide.config.residual_channels
    L = len(wide.config.dilations)
    gate = torch.cat([torch.arange(R0), R + torch.arange(R0)])  # narrow gate unit -> wide index
    res, skp = torch.arange(R0), torch.arange(S0)

    def put(dst: torch.Tensor, src: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor | None = None) -> None:
        if cols is None:
            dst[rows] = src
        else:
            dst[rows[:, None], cols[None, :]] = src

    # new residual channels: zero in, and zero from the residual updates (rows >= R0 below)
    wide.input.weight.zero_()
    wide.input.bias.zero_()
    put(wide.input.weight, narrow.input.weight, res)
    put(wide.input.bias, narrow.input.bias, res)
    for i in range(L):
        put(wide.dilated[i].weight, narrow.dilated[i].weight, gate, res)
        put(wide.dilated[i].bias, narrow.dilated[i].bias, gate)
        wide.residual[i].weight.zero_()
        wide.residual[i].bias.zero_()
        put(wide.residual[i].weight, narrow.residual[i].weight, res, res)
        put(wide.residual[i].bias, narrow.residual[i].bias, res)
        wide.skip[i].weight[:S0].zero_()  # old skip channels ignore the new gate units
        put(wide.skip[i].weight, narrow.skip[i].weight, skp, res)
        put(wide.skip[i].bias, narrow.skip[i].bias, skp)
    wide.out1.weight[:S0].zero_()
    put(wide.out1.weight, narrow.out1.weight, skp, skp)
    put(wide.out1.bias, narrow.out1.bias, skp)
    wide.out2.weight.zero_()
    put(wide.out2.weight, narrow.out2.weight, torch.arange(narrow.out2.weight.shape[0]), skp)
    wide.out2.bias.copy_(narrow.out2.bias)
    per_layer = (gate[None, :] + 2 * R * torch.arange(L)[:, None]).reshape(-1)  # (L * 2R0,) rows
    for name in ("local_proj", "global_proj"):
        src, dst = getattr(narrow, name), getattr(wide, name)
        if src is not None:
            put(dst.weight, src.weight, per_layer)
    for name in ("family_embed", "pitch_embed", "frame_net"):
        if getattr(narrow, name) is not None:
            getattr(wide, name).load_state_dict(getattr(narrow, name).state_dict())
