# Two commands for a new machine:  make run  (set up and run)   make test  (run the tests)
.PHONY: run test test-fast lint typecheck eval bench setup

setup:
	scripts/setup bot

run: setup
	.venv/bin/rights run

test:
	scripts/setup bot,dev,st
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/python -m pytest -q -rs

# the gateway, the knowledge core without a built index, and the layering rules: about a minute
test-fast:
	scripts/setup bot,dev
	.venv/bin/python -m pytest -q -rs -m "not slow"

lint:
	.venv/bin/ruff check .

typecheck:
	.venv/bin/mypy

eval: setup
	.venv/bin/rights eval ../shared/eval/dev.jsonl

bench: setup
	.venv/bin/rights bench
