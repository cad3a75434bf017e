"""Progress: plain lines (no carriage returns) when stderr is not a terminal, nothing when quiet."""

from __future__ import annotations

import io

from soundart.progress import LogProgress, progress


def test_log_lines_every_tenth_and_a_last_line():
    out = io.StringIO()  # not a terminal
    items = list(progress(range(100), desc="analyze", unit="file", file=out))
    assert items == list(range(100))
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 10, lines  # 10%, 20%, ... 90%, then the last line
    assert lines[0].startswith("analyze: 10/100 file (10%)") and "file/s" in lines[0] and "ETA" in lines[0]
    assert lines[-1].startswith("analyze: 100/100 file (100%)") and "in all" in lines[-1]


def test_every_n_items_unknown_total_and_quiet():
    out = io.StringIO()
    with progress(desc="train", unit="step", every=25, file=out) as bar:
        for _ in range(60):
            bar.update(1)
    assert [line.split(",")[0] for line in out.getvalue().splitlines()] == ["train: 25 step", "train: 50 step",
                                                                             "train: 60 step"]
    quiet = io.StringIO()
    with progress(total=10, quiet=True, file=quiet) as bar:
        bar.update(10)
    assert quiet.getvalue() == "" and isinstance(bar, LogProgress)


def test_resumed_count_starts_at_initial():
    out = io.StringIO()
    with progress(total=100, initial=50, desc="train", unit="step", file=out) as bar:
        bar.update(10)
    assert out.getvalue().splitlines()[0].startswith("train: 60/100 step (60%)")


def test_environment_forces_lines(monkeypatch):
    monkeypatch.setenv("SOUNDART_PROGRESS", "lines")
    assert isinstance(progress(total=3), LogProgress)
    monkeypatch.setenv("SOUNDART_PROGRESS", "bar")
    assert not isinstance(progress(total=3, file=io.StringIO()), LogProgress)
