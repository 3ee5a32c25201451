# Two commands, each doing its own set-up from a fresh clone:
#   make demo   the main job on the embedded defaults
#   make test   the test suite (what CI runs through .ci/run)
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo quick-demo paper-demo test bench install clean

install: $(STAMP)

# torch==2.13.0 first: it is the CPU build on local disk; any later requirement it satisfies adds nothing.
$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The main job: the paper's LSiPS study (Li20Si3P3S23Cl, 1-3 Cl in the 3x1x1 supercell, 600-900 K) on the
# embedded defaults: CHGNet AIMD -> network -> 12 ANN-MD runs -> builders -> report in runs/lsips-cl/.
# Re-running continues an interrupted run and redoes nothing that finished.
demo: $(STAMP)
	$(BIN)/dopwf init --dir fw_local
	mkdir -p runs
	$(BIN)/dopwf run examples/lsips_cl_study.yaml --config fw_local --out runs/lsips-cl --workers 2

paper-demo: demo

# The same pipeline in about a minute (50-atom cell, smoke-length MD): the machinery, not physics.
quick-demo: $(STAMP)
	$(BIN)/dopwf init --dir fw_local
	mkdir -p runs
	$(BIN)/dopwf run examples/quick_study.yaml --config fw_local --out runs/quick

# The cluster-path test runs SLURM jobs on localhost: Debian's slurm-wlm and munge, installed here where root and
# apt allow (otherwise that test is reported as skipped, with the reason); likewise Debian's CP2K for the CP2K
# engine's tests with the real program. ruff (ruff.toml) lints first. Two pytest-xdist workers of one thread each
# (work stealing: the whole-study tests spread over both): 25 min here instead of ~45 in one process, whose length
# a 2x slower CI machine pushed past its 90 minutes (bench/results/test_suite_time.md).
TEST_THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1
test: $(STAMP)
	$(BIN)/ruff check .
	tools/install_slurm.sh
	tools/install_cp2k.sh
	$(TEST_THREADS) $(BIN)/python -m pytest -q -n 2 --dist worksteal tests

# one benchmark at a time: they share the 2 cores. ann_speed times AMP too when .amp-venv exists.
bench: $(STAMP)
	$(BIN)/python bench/substitution_ranking.py
	$(BIN)/python bench/ann_speed.py
	$(BIN)/python bench/md_speed.py

clean:
	rm -rf runs fw_local
