# Everyday commands. `make demo` and `make test` are the two setup commands of README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint format train sweep tensorboard figures edit-grid bench reproduce reproduce-fast clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -e ".[dev]"

DEMO_RUN := outputs/demo/$(shell date +%Y-%m-%d_%H-%M-%S)

demo: install   ## train LeVAsa on the synthetic default, evaluate it, say where the report is
	$(BIN)/python train.py hydra.run.dir=$(DEMO_RUN)
	$(BIN)/python evaluate.py ckpt=$(DEMO_RUN)/checkpoints/best.ckpt hydra.run.dir=$(DEMO_RUN)/eval

test: install   ## lint, the import contracts (pyproject.toml), the default suite, then the slow tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -m "not slow"
	$(BIN)/python -m pytest -m slow

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

train:
	$(BIN)/python train.py

sweep:
	$(BIN)/python train.py hparams_search=alpha_grid

tensorboard:
	$(BIN)/tensorboard --logdir outputs

figures:   ## regenerate the committed documentation figures
	$(BIN)/python -m levasa.data.synthetic grid --out docs/synthetic_faces.png

reproduce: install   ## the reproduction study: every run of src/levasa/conf/reproduce.yaml, then docs/RESULTS.md
	$(BIN)/python reproduce.py

reproduce-fast: install   ## the same with one seed, 2 epochs and the sweep at alpha 0 and 100
	$(BIN)/python reproduce.py fast=true output_dir=outputs/reproduce-fast

FIGURE_RUN := outputs/figures/default

edit-grid:   ## docs/edit_grid.png: train the default (seed 0), evaluate it, keep its edit grid (about 8 min on 2 cores)
	$(BIN)/python train.py hydra.run.dir=$(FIGURE_RUN)
	$(BIN)/python evaluate.py ckpt=$(FIGURE_RUN)/checkpoints/best.ckpt hydra.run.dir=$(FIGURE_RUN)/eval
	cp $(FIGURE_RUN)/eval/edit_grid.png docs/edit_grid.png

bench:
	$(BIN)/python benchmarks/bench_synthetic.py
	$(BIN)/python benchmarks/bench_transfer.py
	$(BIN)/python benchmarks/bench_cache.py
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_time_to_quality.py

clean:   ## caches and build litter only: trained runs (outputs/, lightning_logs/, multirun/) and datasets are kept
	rm -rf .pytest_cache .ruff_cache .hypothesis build dist src/*.egg-info data/cache data/synthetic
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
