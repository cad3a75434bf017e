"""The mel VAE: shapes, KL with free bits, save/load, batch consistency, it learns, label errors."""

from __future__ import annotations

import pytest
import torch

from soundart import checkpoint
from soundart.audio.melvae import MelVAE, MelVAEConfig
from soundart.audio.melvae_task import pca_l1
from soundart.errors import BadInputError, ConfigError
from tests.conftest import assert_batch_consistency


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
    assert_batch_consistency(lambda *a: m(*a)[0], (b["mel"], b["pitch"], b["family"]), atol=1e-5, rtol=1e-4)


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


def test_temperature_scales_the_prior_noise_and_defaults_to_the_config():
    m = make(learned_prior=True).eval()
    with torch.no_grad():  # a prior with spread, so temperature changes the draws
        m.prior_net.bias.normal_(0, 0.5)
    p, f = torch.full((4,), m.pitch_index(60)), torch.ones(4, dtype=torch.long)
    with torch.no_grad():
        at_mean = m.decode(m.prior(p, f, 4, torch.device("cpu"))[0], p, f)
    torch.testing.assert_close(m.draw(4, p, f, temperature=0.0), at_mean)

    def spread(t):
        drawn = m.draw(4, p, f, generator=torch.Generator().manual_seed(0), temperature=t)
        return float((drawn - at_mean).abs().mean())

    assert 0 < spread(0.3) < spread(1.0)
    cooled = make(learned_prior=True, temperature=0.3).eval()
    cooled.load_state_dict(m.state_dict())
    default = cooled.draw(4, p, f, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(default, m.draw(4, p, f, generator=torch.Generator().manual_seed(0), temperature=0.3))
    with pytest.raises(ConfigError, match="temperature"):
        m.draw(2, p[:2], f[:2], temperature=-1.0)
    with pytest.raises(ConfigError, match="temperature must be > 0"):
        make(temperature=0.0)


def test_old_checkpoints_without_new_fields_still_load(tmp_path):
    import json

    m = make().eval()
    checkpoint.save(m, tmp_path / "old", {})
    doc = json.loads((tmp_path / "old.json").read_text())
    del doc["config"]["temperature"]  # written before the field existed
    (tmp_path / "old.json").write_text(json.dumps(doc))
    loaded = checkpoint.load(tmp_path / "old", expect_kind="melvae")
    assert loaded.config.temperature == 1.0


def test_init_from_copies_the_weights_and_refuses_other_shapes(tmp_path):
    from soundart.audio.melvae_task import _init_from

    start = make(seed=1).eval()
    start.step.fill_(500)
    checkpoint.save(start, tmp_path / "start", {})
    fresh = make(seed=2, beta=0.5)  # training-only fields may differ
    _init_from(fresh, str(tmp_path / "start"))
    b = batch()
    torch.testing.assert_close(fresh.eval()(b["mel"], b["pitch"], b["family"])[0],
                               start(b["mel"], b["pitch"], b["family"])[0])
    assert int(fresh.step) == 500 and fresh.config.beta == 0.5  # KL warm-up is not repeated
    with pytest.raises(ConfigError, match="do not fit"):
        _init_from(make(latent=8), str(tmp_path / "start"))


def _two_cluster_model():
    """A model with a 2-component mixture fitted on family-1 offsets in two tight clusters."""
    m = make(learned_prior=True, prior_mixture=2).eval()
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[3.0, 0.0, 0.0, 0.0], [-3.0, 2.0, 0.0, 0.0]])
    n = 200
    pitch = torch.randint(0, 73, (n,), generator=g)
    family = torch.ones(n, dtype=torch.long)
    which = torch.arange(n) % 2
    prior_mu = m.prior(pitch, family, n, torch.device("cpu"))[0].detach()
    mu = prior_mu + centres[which] + 0.05 * torch.randn(n, 4, generator=g)
    m.fit_prior_mixture(mu, pitch, family)
    return m, centres


def test_prior_mixture_finds_the_clusters_and_draws_from_them():
    m, centres = _two_cluster_model()
    assert int(m.mix_fitted) == 1
    found = m.mix_mu[1]
    order = found[:, 0].argsort(descending=True)  # the cluster at +3 first
    torch.testing.assert_close(found[order], centres, atol=0.05, rtol=0)
    assert float(m.mix_logw[1].exp().min()) > 0.4  # both clusters weighted about equally
    assert float(m.mix_logvar[1].exp().max()) < 0.02  # tight, not the spread between the clusters
    # family 0 had no notes: one zero-offset component
    assert float(m.mix_mu[0].abs().max()) == 0.0
    # draws at temperature 0 decode exactly at a cluster (prior mean + centre), not between them
    p, f = torch.full((6,), m.pitch_index(60)), torch.ones(6, dtype=torch.long)
    drawn = m.draw(6, p, f, generator=torch.Generator().manual_seed(0), temperature=0.0)
    with torch.no_grad():
        prior_mu = m.prior(p, f, 6, torch.device("cpu"))[0]
        at = [m.decode(prior_mu + c, p, f) for c in found]
        between = m.decode(prior_mu, p, f)
    hit = [min(range(2), key=lambda k: float((drawn[i] - at[k][i]).abs().max())) for i in range(6)]
    for i in range(6):
        torch.testing.assert_close(drawn[i], at[hit[i]][i])
    assert set(hit) == {0, 1}, hit  # both components are drawn
    assert float((drawn - between).abs().max()) > 1e-3


def test_unfitted_mixture_and_unknown_family_use_the_gaussian_prior():
    m = make(learned_prior=True, prior_mixture=2).eval()
    plain = make(learned_prior=True).eval()
    plain.load_state_dict({k: v for k, v in m.state_dict().items() if not k.startswith("mix_")})
    p, f = torch.full((3,), m.pitch_index(60)), torch.ones(3, dtype=torch.long)
    torch.testing.assert_close(m.draw(3, p, f, generator=torch.Generator().manual_seed(0)),
                               plain.draw(3, p, f, generator=torch.Generator().manual_seed(0)))
    fitted, _ = _two_cluster_model()
    unknown = torch.full((3,), fitted.unknown_family)
    with torch.no_grad():
        mu, logvar = fitted.prior(p, unknown, 3, torch.device("cpu"))
        eps = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
        expected = fitted.decode(mu + eps * (0.5 * logvar).exp() * 0.5, p, unknown)
    torch.testing.assert_close(fitted.draw(3, p, unknown, generator=torch.Generator().manual_seed(0),
                                           temperature=0.5), expected)


def test_mixture_survives_save_and_load(tmp_path):
    m, _ = _two_cluster_model()
    checkpoint.save(m, tmp_path / "mix", {})
    loaded = checkpoint.load(tmp_path / "mix", expect_kind="melvae").eval()
    assert int(loaded.mix_fitted) == 1
    p, f = torch.full((4,), m.pitch_index(60)), torch.ones(4, dtype=torch.long)
    torch.testing.assert_close(loaded.draw(4, p, f, generator=torch.Generator().manual_seed(3)),
                               m.draw(4, p, f, generator=torch.Generator().manual_seed(3)))


def test_prior_mixture_needs_the_learned_prior():
    with pytest.raises(ConfigError, match="prior_mixture needs learned_prior"):
        make(prior_mixture=4)
    with pytest.raises(ConfigError, match="no prior mixture"):
        make(learned_prior=True).fit_prior_mixture(torch.zeros(2, 4), torch.zeros(2, dtype=torch.long),
                                                   torch.zeros(2, dtype=torch.long))


def test_pitch_band_mixture_draws_the_offsets_of_the_requested_pitch(tmp_path):
    """Family-1 notes sit at +3 on latent 0 below pitch 48 and at -3 from pitch 72 up: with 12-semitone
    bands a draw at pitch 40 comes from the first cluster and one at pitch 80 from the second."""
    m = make(learned_prior=True, prior_mixture=1, prior_mixture_band=12).eval()
    assert m.config.pitch_bands == 7 and m.mix_mu.shape == (2 * 7, 1, 4)
    g = torch.Generator().manual_seed(0)
    pitch = torch.cat([torch.randint(0, 24, (50,), generator=g), torch.randint(48, 73, (50,), generator=g)])
    family = torch.ones(100, dtype=torch.long)
    centre = torch.zeros(100, 4)
    centre[:50, 0], centre[50:, 0] = 3.0, -3.0
    prior_mu = m.prior(pitch, family, 100, torch.device("cpu"))[0].detach()
    m.fit_prior_mixture(prior_mu + centre + 0.05 * torch.randn(100, 4, generator=g), pitch, family)
    low, high = m.mix_mu[1 * 7 + 1, 0], m.mix_mu[1 * 7 + 4, 0]  # pitch indices 16 (MIDI 40), 56 (MIDI 80)
    torch.testing.assert_close(low, torch.tensor([3.0, 0, 0, 0]), atol=0.05, rtol=0)
    torch.testing.assert_close(high, torch.tensor([-3.0, 0, 0, 0]), atol=0.05, rtol=0)
    for midi, offset, other in ((40, low, high), (80, high, low)):
        p, f = torch.full((3,), m.pitch_index(midi)), torch.ones(3, dtype=torch.long)
        drawn = m.draw(3, p, f, generator=torch.Generator().manual_seed(0), temperature=0.0)
        with torch.no_grad():
            prior_mu = m.prior(p, f, 3, torch.device("cpu"))[0]
            at, not_at = m.decode(prior_mu + offset, p, f), m.decode(prior_mu + other, p, f)
        torch.testing.assert_close(drawn, at)
        assert float((drawn - not_at).abs().max()) > 1e-3
    # a band without notes (pitches 48-59 of family 1) gets the zero-offset component
    assert float(m.mix_mu[1 * 7 + 2].abs().max()) == 0.0
    # an unknown pitch draws a band at random; the mixture is saved and loaded with its bands
    unknown = torch.full((4,), m.unknown_pitch)
    assert m.draw(4, unknown, torch.ones(4, dtype=torch.long), generator=g).shape == (4, 16, 16)
    checkpoint.save(m, tmp_path / "bands", {})
    loaded = checkpoint.load(tmp_path / "bands", expect_kind="melvae").eval()
    p, f = torch.full((4,), m.pitch_index(80)), torch.ones(4, dtype=torch.long)
    torch.testing.assert_close(loaded.draw(4, p, f, generator=torch.Generator().manual_seed(3)),
                               m.draw(4, p, f, generator=torch.Generator().manual_seed(3)))


def test_refine_lowers_the_reconstruction_error_row_by_row():
    m = make(refine_steps=15).eval()
    b = batch()
    x, p, f = b["mel"], b["pitch"], b["family"]
    with torch.no_grad():
        mu, _ = m.encode(x, p, f)
        plain = (m.decode(mu, p, f) - x).abs().mean(dim=(1, 2))
        x_hat, z, _ = m(x, p, f)  # refines under no_grad too
    refined = (x_hat - x).abs().mean(dim=(1, 2))
    assert bool((refined < plain).all()), (refined, plain)
    assert all(q.grad is None for q in m.parameters())  # the weights are left alone
    torch.testing.assert_close(m.refine(x, mu, p, f, steps=0), mu)
    # a patch's refinement does not depend on the rest of the batch
    assert_batch_consistency(lambda *a: m(*a)[0], (x, p, f), atol=1e-5, rtol=1e-4)
    with pytest.raises(ConfigError, match="refine_steps"):
        make(refine_steps=-1)
    with pytest.raises(ConfigError, match="prior_mixture_band"):
        make(learned_prior=True, prior_mixture=2, prior_mixture_band=-3)


def test_init_from_refits_rather_than_copies_the_mixture(tmp_path):
    """A start whose mixture has another shape (no pitch bands) still initialises a banded model."""
    from soundart.audio.melvae_task import _init_from

    start, _ = _two_cluster_model()
    checkpoint.save(start, tmp_path / "start", {})
    banded = make(seed=1, learned_prior=True, prior_mixture=3, prior_mixture_band=12)
    _init_from(banded, str(tmp_path / "start"))
    torch.testing.assert_close(banded.prior_net.weight, start.prior_net.weight)
    assert int(banded.mix_fitted) == 0  # fitted again after training
