# Convenience targets; the scripts are the source of truth (CI runs .ci/run).
.PHONY: setup dev run test ci lint compose-check

setup:
	bash scripts/setup.sh run

dev:
	bash scripts/setup.sh dev

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh $(ARGS)

ci:
	./.ci/run

lint: dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy backend worker bench tests

compose-check: dev
	.venv/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
