.PHONY: setup setup-test test demo lint typecheck bench

setup:
	bash scripts/setup.sh

setup-test:
	bash scripts/setup.sh --test

## The whole test suite: installs what it needs, type-checks, lints, runs jest.
test: setup-test
	npx tsc --noEmit -p .
	npx eslint .
	cd trainer && ../.venv/bin/python -m pytest -q
	DST_SYNTH_REQUIRE_LOCAL_MODEL=1 npx jest --runInBand

## The main job end to end on embedded defaults: Temporal dev server, embedded Postgres, and the
## local instruction-tuned Qwen2.5-Coder-1.5B (or the endpoint OPENAI_API_KEY + --model name).
demo: setup
	npx dst-synth demo $(DEMO_ARGS)

bench: setup
	npx tsx bench/metrics.bench.ts
