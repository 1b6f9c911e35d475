# semspace: the README's two commands are `make demo` and `make test`; both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.semspace-installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: setup browser bench-data demo test test-fast bench gpu-check lint format clean

setup: $(STAMP) ## create .venv and install torch (CPU, pinned) then semspace[all,distributed,dev]; a no-op when done

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "semspace setup: installing torch==2.13.0 (pinned by constraints.txt), then semspace[all,distributed,dev] into $(VENV)"
	$(PIP) install -c constraints.txt torch==2.13.0
	$(PIP) install -c constraints.txt -e '.[all,distributed,dev]'
	@touch $(STAMP)

demo: setup ## the main job on the world (see README)
	$(BIN)/semspace demo --out runs/demo

browser: ## Debian's chromium for the page's browser tests (they skip, saying why, where it cannot be installed)
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "semspace: chromium is not installed (it needs Debian's apt-get as root); the browser tests will skip"

test: setup browser ## the whole suite (CI runs this); pytest exit 5 (no tests) fails too
	CUDA_VISIBLE_DEVICES="" $(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: setup
	CUDA_VISIBLE_DEVICES="" $(BIN)/python -m pytest -q -m "not slow and not ddp" -p no:cacheprovider

bench-data: ## Debian's dataset-fashion-mnist for the CHTN benchmark's real table (it skips, saying why, without it)
	@test -d /usr/share/datasets/fashion-mnist || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; } || \
	  echo "semspace: dataset-fashion-mnist is not installed (it needs Debian's apt-get as root); its table will skip"

bench: setup bench-data ## run the benchmarks -> benchmarks/results/<name>.json + .md
	$(BIN)/semspace bench

gpu-check: setup ## the GPU path in one run (scripts/gpu_check.py): runs/gpu_check/gpu_check.json; CUDA steps skip without CUDA
	$(BIN)/python scripts/gpu_check.py --out runs/gpu_check $(GPU_CHECK_ARGS)

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/semspace
	$(BIN)/lint-imports --no-cache

format: setup
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

clean:
	rm -rf runs .pytest_cache build *.egg-info src/*.egg-info
