"""The Triton generation step (what the fast method runs on a CUDA device) == the naive path.

Without a GPU the kernel runs through Triton's interpreter on the CPU (numpy, one op at a
time: slow, so these clips are a few hundred samples of the tiny test model), and is compiled
for a Hopper GPU (sm_90) to catch what only the GPU compiler rejects.

Triton reads ``TRITON_INTERPRET`` when it is imported (its own library functions are built
then), so each interpreted check runs in a fresh Python with it set: this file, run as a
script with the check's name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from soundart.audio.wavenet_generate import generate, generate_audio
from soundart.errors import ConfigError
from tests.conftest import tiny_wavenet

triton = pytest.importorskip("triton", reason="Triton comes with torch's CUDA wheels; this install has none")

N = 260  # samples: past the tiny model's receptive field (32) and four hops (64)


_model = tiny_wavenet


def _tone_mel(features, n_samples: int) -> torch.Tensor:
    from soundart.features import logmel

    t = torch.arange(n_samples + 2 * features.hop_length) / features.sr
    tones = torch.stack([sum(0.3 / k * torch.sin(2 * torch.pi * f0 * k * t) for k in range(1, 6)) * torch.exp(-2 * t)
                         for f0 in (220.0, 330.0)])
    return logmel(tones, features)


def check_generator():
    # side inputs: pitch 108's harmonics 2 and 3 are past Nyquist
    model = _model(n_families=3, pitch_conditioning=True, pitch_waves=3, note_clock=2, note_level=True,
                   note_level_seconds=0.1)
    model.family_level.copy_(torch.linspace(-60, -10, model.config.level_blocks).repeat(3, 1))
    kw = dict(batch=2, family=[0, 2], pitch=[60, 108], seed=7)
    got = generate(model, N, method="triton", dtype=torch.float64, **kw)
    naive = generate(model, N, method="naive", dtype=torch.float64, **kw)
    mismatch = (got != naive).nonzero()
    assert len(mismatch) == 0, f"first mismatch at {mismatch[0].tolist()}"
    assert got.unique().numel() > 50
    # float32 (what a GPU runs): the same samples but for rare one-class differences in the sums' order
    f32 = generate(model, N, method="triton", **kw)
    assert f32.dtype == torch.int64 and (f32[:, :100] == got[:, :100]).float().mean() > 0.95


def check_vocoder(output: str):
    """Local conditioning, deeper sampling filters than training, and (logistic) the 16-bit mixture output."""
    model = _model(local=True, lpc_order=8, synthesis_lpc_order=24, output=output, mixtures=4)
    kw = dict(mel=_tone_mel(model.config.features, N), seed=3, dtype=torch.float64)
    codes, audio = generate(model, N, method="triton", **kw), generate_audio(model, N, method="triton", **kw)
    naive_codes = generate(model, N, method="naive", **kw)
    mismatch = (codes != naive_codes).nonzero()
    assert len(mismatch) == 0, f"first mismatch at {mismatch[0].tolist()}"
    naive = generate_audio(model, N, method="naive", **kw)
    assert torch.allclose(audio, naive, atol=1e-9), (audio - naive).abs().max()
    assert codes.unique().numel() > 50 and audio.abs().max() <= 1.0


def check_beam_search():
    """The mel-guided search scores and swaps the Triton step's tensors as it does the numba step's arrays."""
    model = _model(local=True, lpc_order=8)
    mel = _tone_mel(model.config.features, 4 * 64)
    n = (mel.shape[-1] - 1) * model.config.features.hop_length
    kw = dict(mel=mel, seed=0, beam=2, dtype=torch.float64)
    found = generate_audio(model, n, method="triton", **kw)
    assert found.shape == (2, n)
    assert torch.allclose(found, generate_audio(model, n, **kw), atol=1e-9)


def _interpreted(*check: str) -> None:
    """Run this file's ``check_*`` function in a fresh Python with Triton's interpreter on."""
    repo = str(Path(__file__).resolve().parents[2])   # the script imports tests.conftest
    env = dict(os.environ, TRITON_INTERPRET="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, __file__, *check], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_triton_generator_equals_naive():
    _interpreted("check_generator")


@pytest.mark.parametrize("output", ["logistic", "mulaw"])
def test_triton_vocoder_with_linear_prediction_equals_naive(output):
    _interpreted("check_vocoder", output)


def test_triton_beam_search_equals_numba():
    _interpreted("check_beam_search")


def test_triton_needs_cuda_or_the_interpreter(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(ConfigError, match="needs Triton and a CUDA device"):
        generate(_model(), 10, method="triton")


@pytest.mark.parametrize("local,logistic", [(True, False), (False, True)])
def test_triton_step_compiles_for_hopper(local, logistic):
    """The default models' sizes (20 layers, 16 residual, 32 skip channels) through Triton's GPU
    compiler and ptxas, for sm_90: no GPU needed, and no spilled registers."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler.compiler import ASTSource

    from soundart.audio import wavenet_triton

    kernel = triton.jit(wavenet_triton._steps_python)
    constexprs = dict(L=20, RP=16, SP=32, KP=32 if logistic else 256, OP=256, BB=wavenet_triton.CLIPS_PER_PROGRAM,
                      HAS_LOCAL=local, LOGISTIC=logistic, LPC=local)
    ints = set(wavenet_triton.RUNTIME_INTEGERS)
    signature = {}
    for name in kernel.arg_names:
        if name in constexprs:
            signature[name] = "constexpr"
        elif name in ints:
            signature[name] = "i32"
        elif name == "log_scale_min":
            signature[name] = "fp32"
        elif name in ("dil_ptr", "i0_ptr", "i1_ptr", "out_ptr"):
            signature[name] = "*i64"
        else:
            signature[name] = "*fp64" if name == "u_ptr" else "*fp32"
    compiled = triton.compile(ASTSource(kernel, signature, constexprs), target=GPUTarget("cuda", 90, 32))
    assert compiled.asm["cubin"] and "bar.sync" in compiled.asm["ptx"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fast_on_cuda_equals_naive():
    model = _model(local=True, lpc_order=8)
    mel = _tone_mel(model.config.features, 2000)
    kw = dict(mel=mel, seed=3, dtype=torch.float64)
    naive = generate(model, 2000, method="naive", **kw)
    got = generate(model.to("cuda"), 2000, **kw)
    mismatch = (got != naive).nonzero()
    assert len(mismatch) == 0, f"first mismatch at {mismatch[0].tolist()}"


if __name__ == "__main__":
    torch.set_num_threads(1)
    globals()[sys.argv[1]](*sys.argv[2:])
