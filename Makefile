# Two commands, each doing its own set-up from a fresh clone:
#   make demo   the main job on the embedded defaults
#   make test   the test suite (what CI runs through .ci/run)
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench install clean

install: $(STAMP)

# torch==2.13.0 first: it is the CPU build on local disk; any later requirement it satisfies adds nothing.
$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dopwf init --dir fw_local
	$(BIN)/dopwf plan examples/lsips_cl_study.yaml --out runs/lsips-cl

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

# one benchmark at a time: they share the 2 cores. ann_speed times AMP too when .amp-venv exists.
bench: $(STAMP)
	$(BIN)/python bench/substitution_ranking.py
	$(BIN)/python bench/ann_speed.py

clean:
	rm -rf runs fw_local
