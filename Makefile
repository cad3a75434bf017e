VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The SoundFont synthesizer `soundart render` uses. --no-deps: its wheel declares PyAudio (live playback,
# which soundart never uses), and PyAudio does not build on Linux without the PortAudio headers.
SOUNDFONT_SYNTH := tinysoundfont==0.3.7

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null
	$(PY) -m pip install -e '.[test]'
	$(PY) -m pip install --no-deps '$(SOUNDFONT_SYNTH)'
	@echo "compiling the WaveNet generator's numba step into its cache (once, ~10 s)"
	$(PY) -c 'from soundart.audio.wavenet_generate import compile_ahead; compile_ahead()'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	bash examples/demo.sh

test: $(STAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) benchmarks/bench_features.py

clean:
	rm -rf $(VENV) build *.egg-info
