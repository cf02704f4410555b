# Two entry points, each setting up what is missing first:
#   make example   grade the bundled example class (examples/submissions/)
#   make test      run the test suite
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup example test

setup:
	@command -v bwrap >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq bubblewrap; }
	@# a single-node Slurm for tests/test_cluster_slurm.py (the test starts and stops it)
	@command -v slurmctld >/dev/null && command -v munged >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; }
	@# the report accessibility test: axe-core in Debian's headless Chromium, driven by node
	@command -v chromium >/dev/null && command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium nodejs npm; }
	@[ -d tests/a11y/node_modules/axe-core ] || npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error
	@# (re)install when grader is missing or installed from another checkout
	@$(PYTHON) -c "import grader, pytest, jsonschema, yaml, latex2mathml, distributed, dask_jobqueue, sys; sys.exit(not grader.__file__.startswith('$(CURDIR)/'))" 2>/dev/null \
		&& command -v grade >/dev/null || $(PYTHON) -m pip install -q -e ".[test]"

example: setup
	rm -rf examples/grade-reports
	grade examples/submissions/ --seed 2026 --out examples/grade-reports

test: setup
	$(PYTHON) -m pytest -q
