# Two commands, each doing its own set-up from a fresh clone:
#   make demo   the main job on the embedded defaults
#   make test   the test suite (what CI runs through .ci/run)
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo paper-demo test bench install clean

install: $(STAMP)

# torch==2.13.0 first: it is the CPU build on local disk; any later requirement it satisfies adds nothing.
$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The whole pipeline on the embedded defaults (CHGNet AIMD -> network -> ANN-MD -> builders -> report) for the
# quick demo study; `make paper-demo` runs the paper's LSiPS study (see README for its current state).
# Re-running continues an interrupted run and redoes nothing that finished.
demo: $(STAMP)
	$(BIN)/dopwf init --dir fw_local
	$(BIN)/dopwf run examples/quick_study.yaml --config fw_local --out runs/quick

paper-demo: $(STAMP)
	$(BIN)/dopwf init --dir fw_local
	$(BIN)/dopwf run examples/lsips_cl_study.yaml --config fw_local --out runs/lsips-cl

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

# one benchmark at a time: they share the 2 cores. ann_speed times AMP too when .amp-venv exists.
bench: $(STAMP)
	$(BIN)/python bench/substitution_ranking.py
	$(BIN)/python bench/ann_speed.py

clean:
	rm -rf runs fw_local
