# Two commands for a new machine:  make run  (set up and run)   make test  (run the tests)
.PHONY: run test lint eval bench setup

setup:
	scripts/setup

run: setup
	.venv/bin/rights run

test:
	scripts/setup dev,st
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q -rs

lint:
	.venv/bin/ruff check .

eval: setup
	.venv/bin/rights eval ../shared/eval/dev.jsonl

bench: setup
	.venv/bin/rights bench
