"""``python -m soundart`` (and ``torchrun -m soundart train ...``)."""

from soundart.cli import main

main()
