"""Near-duplicate recordings are kept on one side of a split.

A recording's *spectral fingerprint* is its long-term average spectrum in dB
(the mean power of each STFT bin over the whole file, from the shared
pipeline's spectrogram). Two excerpts of one recording, or two tracks of one
album through one mastering chain, share it almost bin for bin, while the mel
or MFCC statistics the models use are far less specific. Fingerprints are
compared after removing each file's mean level and standardising each bin over
the collection, one source at a time (cosine similarity); pairs above ``threshold`` are linked and
every connected set of groups becomes one group.

The default threshold was chosen on mood4q, whose artists are known
(``docs/listen-splits.md``): above 0.93, 6 of the 9 linked pairs are by one
artist (chance: 430 of 271,216 pairs), while at 0.90 only 12 of 53 are and
chains of links start to join unrelated artists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NEAR_DUPLICATE_THRESHOLD = 0.93


def spectral_fingerprint(power: np.ndarray) -> np.ndarray:
    """Long-term average spectrum in dB of a power spectrogram ``(n_freqs, frames)`` -> ``(n_freqs,)``."""
    return (10 * np.log10(np.asarray(power, dtype=np.float64).mean(axis=1) + 1e-10)).astype(np.float32)


def similarity(fingerprints: np.ndarray) -> np.ndarray:
    """Cosine similarity ``(N, N)`` of level-free, per-bin standardised fingerprints ``(N, n_freqs)``."""
    X = np.asarray(fingerprints, dtype=np.float64)[:, 1:]           # the DC bin says nothing about the music
    X = X - X.mean(axis=1, keepdims=True)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-6)
    X /= np.linalg.norm(X, axis=1, keepdims=True) + 1e-12
    return X @ X.T


def link_near_duplicates(items: list[Any], fingerprints: np.ndarray,
                         threshold: float = NEAR_DUPLICATE_THRESHOLD) -> list[tuple[int, int, float]]:
    """Merge the ``group`` of items whose fingerprints are closer than ``threshold``; returns the links.

    Each merged set takes the alphabetically first of its group names, so the
    result does not depend on the order of the items.
    """
    if len(items) < 2:
        return []
    S = similarity(fingerprints)
    i, j = np.nonzero(np.triu(S, 1) > threshold)
    parent = {it.group: it.group for it in items}

    def root(g: str) -> str:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    links = []
    for a, b in zip(i.tolist(), j.tolist()):
        ra, rb = root(items[a].group), root(items[b].group)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
        links.append((a, b, float(S[a, b])))
    for it in items:
        it.group = root(it.group)
    return links
