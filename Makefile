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

## The main job end to end on embedded defaults. With neither OPENAI_API_KEY nor
## DST_SYNTH_LOCAL_MODEL set, the bundled base model is selected explicitly: the pipeline then
## runs end to end, but its generated data only exercise the plumbing (see README).
DEMO_ARGS ?= $(if $(OPENAI_API_KEY)$(DST_SYNTH_LOCAL_MODEL),,--provider local --model bundled)
demo: setup
	npx dst-synth demo $(DEMO_ARGS)

bench: setup
	npx tsx bench/metrics.bench.ts
