# The two quick-start commands: `make demo` runs the main job, `make test` every test.
# Each creates the virtual environment .venv on first use.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint report pictures bench clean

$(VENV)/installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

demo: $(VENV)/installed
	@for n in 1 2 3 4 5; do \
	  echo "== scenario $$n: limiter scenario --file scenarios/scenario_$$n.json"; \
	  $(BIN)/limiter scenario --file scenarios/scenario_$$n.json || exit $$?; \
	done
	@echo "== real traffic: limiter replay data/nasa_19950701.tsv --config data/nasa.config.json --user-field host --summary"
	@$(BIN)/limiter replay data/nasa_19950701.tsv --config data/nasa.config.json --user-field host --summary

test: $(VENV)/installed lint
	$(BIN)/python -m pytest
	FUZZ_EXAMPLES=200 $(BIN)/python -m pytest tests/fuzz_cli.py -p no:cacheprovider --hypothesis-seed=0
	@for store in memory sqlite redis; do \
	  for sut in engine cli; do \
	    echo "== behave -D store=$$store -D sut=$$sut"; \
	    $(BIN)/behave --format progress -D store=$$store -D sut=$$sut || exit $$?; \
	  done; \
	done
	$(BIN)/python tools/traceability.py

lint: $(VENV)/installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The behave suite's results, requirement by requirement, in build/report.md (see
# docs/report.md). Written even when scenarios fail; exit status 1 then, and 2 with
# no report when behave could not run.
report: $(VENV)/installed
	$(BIN)/python tools/report.py --output build/report.md -- -D sut=engine -D store=memory

# The pictures of docs/pictures.md, as SVG in docs/pictures/: each specification
# scenario, then the busiest and the throttled users of the real trace. The same
# input draws the same files, so a run with nothing changed changes nothing.
NASA_TRACE := data/nasa_19950701.tsv --config data/nasa.config.json --user-field host
NASA_THROTTLED := --user kristina.az.com --user ts2-p01.dialup.iway.fr --user slip-5.io.com
pictures: $(VENV)/installed
	@mkdir -p docs/pictures
	@for n in 1 2 3 4 5; do \
	  echo "== limiter plot --file scenarios/scenario_$$n.json"; \
	  $(BIN)/limiter plot --file scenarios/scenario_$$n.json \
	    --output docs/pictures/scenario_$$n.svg || exit $$?; \
	done
	$(BIN)/limiter plot $(NASA_TRACE) --top 3 --output docs/pictures/nasa_busiest.svg
	$(BIN)/limiter plot $(NASA_TRACE) $(NASA_THROTTLED) --output docs/pictures/nasa_throttled.svg

# Times the engine against its peers and two inline floors, in the benchmark's own
# environment bench/.venv; writes docs/performance.md. BENCH_ARGS="--size 20000"
# for a quick look.
bench:
	bash bench/setup
	bench/.venv/bin/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) bench/.venv .pytest_cache .mypy_cache .ruff_cache .hypothesis
