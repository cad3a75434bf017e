"""The mel VAE: shapes, KL with free bits, save/load, batch consistency, it learns, label errors."""

from __future__ import annotations

import pytest
import torch

from soundart import checkpoint
from soundart.audio.melvae import MelVAE, MelVAEConfig
from soundart.audio.melvae_task import pca_l1
from soundart.errors import BadInputError, ConfigError


def make(seed: int = 0, **kw) -> MelVAE:
    torch.manual_seed(seed)
    return MelVAE(MelVAEConfig.debug() if not kw else MelVAEConfig(**{**MelVAEConfig.debug().__dict__, **kw}))


def batch(n: int = 4) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"mel": torch.randn(n, 16, 16, generator=g), "pitch": torch.randint(0, 73, (n,), generator=g),
            "family": torch.randint(0, 2, (n,), generator=g)}


def test_shapes():
    m = make().eval()
    b = batch()
    mu, logvar = m.encode(b["mel"], b["pitch"], b["family"])
    assert mu.shape == logvar.shape == (4, 4), mu.shape
    x_hat = m.decode(mu, b["pitch"], b["family"])
    assert x_hat.shape == (4, 16, 16), x_hat.shape
    assert m.sample(3, pitch=60, family="b").shape == (3, 16, 16)
    assert m.interpolate(mu[0], mu[1], 5).shape == (5, 16, 16)


def test_free_bits_and_warmup():
    m = make()
    zero = {"mel": torch.zeros(2, 16, 16), "pitch": torch.zeros(2, dtype=torch.long),
            "family": torch.zeros(2, dtype=torch.long)}
    parts = m.loss(zero["mel"], zero["pitch"], zero["family"], sample=False)
    assert parts["kl_free"] >= m.config.latent * m.config.free_bits - 1e-6
    before = int(m.step)
    m.training_step(zero)
    assert int(m.step) == before + 1


def test_items_one_by_one_equal_the_batch():
    m = make().eval()
    b = batch()
    full, _, _ = m(b["mel"], b["pitch"], b["family"])
    for i in range(4):
        one, _, _ = m(b["mel"][i:i + 1], b["pitch"][i:i + 1], b["family"][i:i + 1])
        torch.testing.assert_close(one[0], full[i], atol=1e-5, rtol=1e-4)


def test_save_load_gives_identical_outputs(tmp_path):
    m = make().eval()
    checkpoint.save(m, tmp_path / "vae", {"data": "test"})
    loaded = checkpoint.load(tmp_path / "vae", expect_kind="melvae").eval()
    assert loaded.config.families == ("a", "b") and loaded.config.features == m.config.features
    b = batch()
    torch.testing.assert_close(loaded(b["mel"], b["pitch"], b["family"])[0], m(b["mel"], b["pitch"], b["family"])[0])


def test_it_learns_a_fixed_batch():
    torch.set_num_threads(1)
    m = make(label_dropout=0.0)
    b = batch(8)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    first = m.validation_step(b)["l1_db"]
    for _ in range(60):
        opt.zero_grad()
        m.training_step(b).backward()
        opt.step()
    assert m.validation_step(b)["l1_db"] < 0.8 * first


def test_label_errors_are_one_line_and_name_the_value():
    m = make()
    with pytest.raises(ConfigError, match="pitch 120 is outside the model's trained range 24-96"):
        m.sample(1, pitch=120)
    with pytest.raises(ConfigError, match="unknown family 'kazoo'"):
        m.sample(1, pitch=60, family="kazoo")
    uncond = make(condition="none", families=())
    with pytest.raises(ConfigError, match="unconditioned"):
        uncond.sample(1, pitch=60)
    with pytest.raises(BadInputError, match="silent"):
        m.patches(torch.zeros(8000))
    with pytest.raises(ConfigError, match="divisible"):
        MelVAEConfig(frames=10, channels=(8, 16))


def test_patches_cover_the_audio():
    m = make()
    audio = torch.sin(torch.arange(16000 * 2) * 0.05)
    x = m.patches(audio)
    frames = 16000 * 2 // m.config.features.hop_length + 1
    assert x.shape == (-(-frames // 16), 16, 16), x.shape


def test_pca_baseline_is_exact_at_full_rank():
    g = torch.Generator().manual_seed(0)
    basis = torch.randn(3, 20, generator=g)
    train = torch.randn(50, 3, generator=g) @ basis
    test = torch.randn(10, 3, generator=g) @ basis
    assert pca_l1(train, test, 3) < 1e-4
    assert pca_l1(train, test, 1) > 0.1


def test_kl_against_the_learned_prior_matches_torch_distributions():
    m = make(learned_prior=True, free_bits=0.0)
    with torch.no_grad():  # a prior that depends on the labels
        m.prior_net.weight.normal_(0, 0.3)
        m.prior_net.bias.normal_(0, 0.3)
    b = batch(6)
    parts = m.loss(b["mel"], b["pitch"], b["family"], sample=False)
    mu, logvar = m.encode(b["mel"], b["pitch"], b["family"])
    mu_p, logvar_p = m.prior(b["pitch"], b["family"], 6, mu.device)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(mu_p, (0.5 * logvar_p).exp())
    expected = torch.distributions.kl_divergence(q, p).mean(0).sum()
    torch.testing.assert_close(parts["kl"], expected, atol=1e-4, rtol=1e-4)


def test_draws_come_from_the_learned_prior():
    m = make(learned_prior=True).eval()
    with torch.no_grad():  # family "b" sits far from the origin, with almost no spread
        m.prior_net.weight.zero_()
        m.prior_net.bias.copy_(torch.tensor([0.0] * 4 + [-8.0] * 4))
        m.prior_net.weight[:4, -4:] = 5.0
        m.family_embed.weight[1] = 1.0
    f = torch.ones(3, dtype=torch.long)
    p = torch.full((3,), m.pitch_index(60))
    mu_p = m.prior(p, f, 3, torch.device("cpu"))[0].detach()
    assert float(mu_p.abs().min()) > 1.0, mu_p
    drawn = m.draw(3, p, f, generator=torch.Generator().manual_seed(0))
    at_mean = m.decode(mu_p, p, f)
    at_origin = m.decode(torch.zeros_like(mu_p), p, f)
    assert (drawn - at_mean).abs().max() < 0.1 * (at_origin - at_mean).abs().max()
    assert m.sample(2, pitch=60, family="b").shape == (2, 16, 16)
