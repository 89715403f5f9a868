# Flightdeck. `make run` runs the platform on its embedded defaults; `make test` checks it.
SHELL := /bin/bash
# uv from PATH, else the one pip installs as a Python module.
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: run test lint fmt schemas bench install clean help

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install:  ## install uv if missing, then the workspace (all services, libs, dev tools)
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv
	@$(UV) sync --frozen --quiet || $(UV) sync --quiet

run: install  ## run the embedded broker and all six services (Ctrl-C stops everything)
	@$(UV) run --frozen flightdeck run

test: install lint  ## lint, type check and the whole test suite
	$(UV) run --frozen pytest $(PYTEST_ARGS)

lint: install  ## ruff and mypy (strict)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy libs services

fmt: install  ## format and fix what ruff can
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

schemas: install  ## regenerate docs/events (JSON Schemas and AsyncAPI) from the event models
	$(UV) run --frozen flightdeck schemas --out docs/events

bench: install  ## run the benchmarks; prints JSON with figures, baselines and ratios
	$(UV) run --frozen python -m bench

clean:  ## remove local state (databases, tokens, logs)
	rm -rf var .mypy_cache .ruff_cache
