"""Music Transformer generation speed: tokens/s with and without the key/value cache.

Generates ``--tokens`` tokens (default 1,024) from a one-token prompt, once
with the KV cache (``step``) and once recomputing the whole sequence at every
step, on the CPU and, when one is present, on CUDA; prints a table with the
speed-up of the cache in the same run.

    python benchmarks/bench_generate.py [--model transformer|PATH] [--tokens 1024] [--threads 1]

Without ``--model`` a model of the shipped default size is built with random
weights (speed does not depend on the weights).
"""

from __future__ import annotations

import argparse

import torch
from benchkit import median_seconds, table

from soundart.music.transformer import MusicTransformer, TransformerConfig


def _time_generate(model: MusicTransformer, n_tokens: int, use_cache: bool, device: torch.device) -> float:
    prompt = torch.ones(1, 1, dtype=torch.long, device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    model.generate(prompt, 8, generator=gen, use_cache=use_cache)  # warm-up
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    sync()

    def run() -> None:
        out = model.generate(prompt, n_tokens - 1, generator=gen, use_cache=use_cache)
        assert out.shape == (1, n_tokens), out.shape

    return median_seconds(run, 1, warm=False, sync=sync)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="shipped model name or checkpoint path")
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.model:
        from soundart.models import load_model

        model = load_model(args.model, expect_kind="music-transformer")
        source = args.model
    else:
        torch.manual_seed(0)
        model = MusicTransformer(TransformerConfig(max_len=args.tokens)).eval()
        source = "random weights"
    cfg = model.config
    print(f"model: {source}; d_model {cfg.d_model}, {cfg.n_layers} layers, {cfg.n_heads} heads, "
          f"max_len {cfg.max_len}, vocab {cfg.vocab_size}; {args.tokens} tokens, batch 1, "
          f"{args.threads} CPU thread(s)")
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        model.to(device)
        cached = _time_generate(model, args.tokens, True, device)
        full = _time_generate(model, args.tokens, False, device)
        rows.append((device.type, args.tokens / cached, args.tokens / full, full / cached))
    if not torch.cuda.is_available():
        print("cuda: not measured (no GPU on this machine)")
    print(table(["device", "cache tok/s", "no cache tok/s", "speed-up"],
                [(name, fast, slow, f"{ratio:.1f}x") for name, fast, slow, ratio in rows], floats=".1f"))


if __name__ == "__main__":
    main()
