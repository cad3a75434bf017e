"""Fixtures for the spectral tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """Small convolutions run faster on one thread than on two contended ones."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
