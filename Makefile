# The README's two commands: `make demo` (the main job end to end) and `make test`.
PYTHON ?= python3
DATA ?= mnist

.PHONY: setup demo test test-all

setup:
	bash scripts/setup.sh $(DATA)

# Main job on MNIST: set up, fetch data, build the shipped model for TFLM, benchmark it.
demo: setup
	edgecnn build --target all
	edgecnn bench --runs 1000

# The default test suite (long trainings are marked slow and excluded).
test:
	$(MAKE) setup DATA="mnist fashion-mnist cifar10"
	$(PYTHON) -m pytest -ra

# Everything, including the slow trainings.
test-all:
	$(MAKE) setup DATA="mnist fashion-mnist cifar10"
	$(PYTHON) -m pytest -ra -m ""
