# `make demo` and `make test` work from a fresh clone: they build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test suite lint spectral format clean bench bench-tools screenshots constraints

# every install takes the versions constraints.txt pins (the nightly's too: two nights judge alike)
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -c constraints.txt
	touch $(STAMP)

# after changing pyproject.toml's dependencies or upgrading .venv: pin what it now holds
constraints: $(STAMP)
	{ sed -n '/^#/p' constraints.txt; $(BIN)/pip freeze --all --exclude-editable | grep -v -e '^pip==' -e '^wheel=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

demo: $(STAMP)
	$(BIN)/conformance run --report-dir reports/latest

lint: $(STAMP) spectral
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/zizmor --offline .github/workflows

# the specs against Spectral's OpenAPI ruleset (.spectral.yaml): errors fail, warnings are shown.
# Spectral comes from npm, pinned, into a git-ignored folder (as Prism for the bench, below).
SPECTRAL := @stoplight/spectral-cli@6.16.3
SPECTRAL_BIN := .tools/spectral/node_modules/.bin/spectral
spectral:
	@test -x $(SPECTRAL_BIN) || npm install --prefix .tools/spectral --no-audit --no-fund --loglevel=error $(SPECTRAL)
	$(SPECTRAL_BIN) lint --fail-severity error specs/*.yaml

# lint and the suite side by side: the suite's workers leave about a sixth of two cores idle while
# they wait on loopback servers, timeouts and child processes, and lint (mypy, single-threaded,
# 9 s from a fresh clone) fills it. One after the other 149 and 128 s, side by side 121 and 123 s
# (alternated, mypy's cache removed before each, 2026-12-07). The suite prints as it goes, lint's
# output follows it; either failing fails the target. Interrupted, it stops lint too (a job started
# in the background ignores the terminal's Ctrl-C) and leaves no log behind.
test: $(STAMP)
	@log=$$(mktemp); trap 'kill $$lint 2>/dev/null; rm -f $$log; exit 130' INT TERM; \
	$(MAKE) --no-print-directory lint >$$log 2>&1 & lint=$$!; \
	$(MAKE) --no-print-directory suite; suite=$$?; \
	wait $$lint; linted=$$?; cat $$log; rm -f $$log; \
	test $$linted = 0 || echo "make test: lint failed (above)"; \
	test $$suite = 0 && test $$linted = 0

# four workers on two cores, the fastest count measured (pytest 164 s with 3, 154 s with 4, 158 s with 6,
# 182 s with 8; again after issue 29's cuts, 120 s with 3 and 116 s with 4, 2026-12-07): some tests
# wait on loopback servers and child processes, the rest is CPU. worksteal keeps 1.64 to 1.68 of the
# two cores busy, load 1.55 (two runs each, 2026-12-07).
# Bytecode caches on even where the environment turns them off (PYTHONDONTWRITEBYTECODE): each
# worker then reads pytest's rewritten modules (the plugins' too) and each child process the
# suite's compiled modules instead of compiling them again.
suite: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n 4 --dist worksteal

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# the README's report screenshots, taken by the browser test (needs Chromium)
screenshots: $(STAMP)
	CONFORMANCE_SCREENSHOTS=docs $(BIN)/pytest -q tests/results/test_report_browser.py

# the mock bench's load generator (wrk, from Debian) and the mock it is compared with (Prism, from npm)
PRISM := @stoplight/prism-cli@5.14.2
bench-tools:
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
	@command -v wrk >/dev/null || { echo "make bench needs wrk: install it (Debian: sudo apt-get install -y wrk)"; exit 1; }
	@test -x bench/.prism/node_modules/.bin/prism || npm install --prefix bench/.prism --no-audit --no-fund --loglevel=error $(PRISM)

# every speed benchmark, its output copied into bench/RESULTS.md (17 to 18 minutes). Bytecode
# caches on, as in a user's environment: st's modules are compiled when pip installs them, and
# without a cache each `conformance` process would compile the suite's again (0.15 to 0.2 s).
bench: $(STAMP) bench-tools
	PYTHONDONTWRITEBYTECODE= $(BIN)/python bench/results.py

clean:
	rm -rf $(VENV) reports/latest .pytest_cache .ruff_cache
