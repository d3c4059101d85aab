# Two commands for a new machine:  make run  (set up and run)   make test  (run the tests)
.PHONY: run test test-fast lint typecheck eval bench setup

# Two environments (README, "Two environments"): .venv for Rasa, the action server and the
# `rights` command; .venv-gateway for the public gateway on a current aiohttp.
setup:
	scripts/setup bot
	scripts/setup gateway .venv-gateway

run: setup
	.venv/bin/rights run

# The gateway's tests run in the gateway's environment (the aiohttp it serves with); the rest in .venv.
test:
	scripts/setup bot,dev,st
	scripts/setup gateway,dev .venv-gateway
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv-gateway/bin/mypy channels
	.venv/bin/python -m pytest -q -rs --ignore=tests/channels
	.venv-gateway/bin/python -m pytest -q -rs tests/channels

# the gateway, the knowledge core without a built index, and the layering rules: about a minute
test-fast:
	scripts/setup bot,dev
	scripts/setup gateway,dev .venv-gateway
	.venv/bin/python -m pytest -q -rs -m "not slow" --ignore=tests/channels
	.venv-gateway/bin/python -m pytest -q -rs -m "not slow" tests/channels

lint:
	.venv/bin/ruff check .

typecheck:
	.venv/bin/mypy

eval: setup
	.venv/bin/rights eval ../shared/eval/dev.jsonl

bench: setup
	.venv/bin/rights bench
