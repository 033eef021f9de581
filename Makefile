# dataquest: `make help` lists every target. `make run` and `make test` are all a newcomer needs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PYTEST_ARGS ?=
# make test: test modules in parallel worker processes (pytest-xdist, --dist loadfile: a module's tests stay on one
# worker, in order; the slow modules start first: tests/support/schedule.py). PYTEST_WORKERS=0 runs every test in
# this one process. Six workers on two cores: the slow modules mostly wait (Terraform's provider, the Docker engine,
# LocalStack) while the others run. make test-unit (tests/unit: the package's tests; tests/repo checks the repository's
# files, tests/harness the test harness: both run in make test) is CPU-bound, with no real sleeps: one worker per
# core (UNIT_WORKERS, 2 here; each worker imports polars, pyiceberg, moto... again, ~5 s of CPU), and --dist load,
# test by test, so that no slow module (the lake's) is the tail on one worker while the other idles.
PYTEST_WORKERS ?= 6
UNIT_WORKERS ?= 2
XDIST = -n $(PYTEST_WORKERS) --dist loadfile

# checkov pins boto3 1.35 and an old s3transfer, so it lives in its own venv instead of the dev group.
CHECKOV_VERSION := 3.3.30
CHECKOV := $(TOOLS)/checkov/bin/checkov

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'

# Two environments from the one lock file, each with its stamp (uv sync is exact: it removes what it was not asked
# for, so each sync drops the other stamps). `make run` needs only the run extras; everything else needs the dev one.
RUN_EXTRAS := --extra embedded --extra report --extra cli --extra lake
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --all-extras
	@rm -f $(VENV)/.synced-notebook $(VENV)/.synced-run
	@touch $@

# make run: the package with the extras `dataquest run` imports (moto, polars, tqdm), no dev group (no linters,
# stubs, pandas): 68 packages and 357 MB instead of 104 and 612 (measured with uv 0.13.9, Python 3.11).
$(VENV)/.synced-run: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --no-dev $(RUN_EXTRAS)
	@rm -f $(VENV)/.synced $(VENV)/.synced-notebook
	@touch $@

# The notebook group (nbclient, ipykernel) on top: make notebook and make test; make run does without it.
$(VENV)/.synced-notebook: $(VENV)/.synced
	$(UV) sync --frozen --all-extras --group notebook
	@touch $@

.PHONY: install
install: $(VENV)/.synced ## create .venv from the lock file with the dev tools (uv sync --frozen; the same as install-dev)

.PHONY: install-dev
install-dev: $(VENV)/.synced ## create .venv from the lock file: the package, every extra and the dev group

# A full environment serves run as well: run does not narrow a venv that install-dev made.
.PHONY: install-run
install-run: $(if $(wildcard $(VENV)/.synced),$(VENV)/.synced,$(VENV)/.synced-run) ## only what make run needs (uv sync --frozen --no-dev with the run extras)

.PHONY: lock
lock: | $(UV) ## re-resolve uv.lock after changing dependencies
	$(UV) lock

.PHONY: run
run: install-run ## the whole pipeline on the embedded default (needs DQ_CONTACT): report files in ./out
	$(BIN)/dataquest run --out out
	@echo "report: $(CURDIR)/out/report.html"

# Headless Chromium: the report page's browser test and `make screenshot`.
.PHONY: chromium
chromium: ## install headless Chromium (Debian's chromium, as root) for the report's browser test and screenshot
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
	  || { [ "$$(id -u)" = 0 ] && apt-get -o DPkg::Lock::Timeout=600 update -qq \
	       && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >&2; } \
	  || echo "chromium: not installed and this is not root: apt-get install chromium (the browser test skips)" >&2

# The README's screenshot: report.html on the real data in ../shared/data (SCREENSHOT_DATA, SCREENSHOT_POPULATION).
SCREENSHOT_DATA ?= ../shared/data/bls-pr-2025-09/pr.data.0.Current
SCREENSHOT_POPULATION ?= ../shared/data/population/acs1-nation.tesseract.json
SCREENSHOT ?= docs/report.png

.PHONY: screenshot
screenshot: install chromium ## docs/report.png: report.html from SCREENSHOT_DATA and SCREENSHOT_POPULATION in headless Chromium
	$(BIN)/dataquest report --data-file $(SCREENSHOT_DATA) --population-file $(SCREENSHOT_POPULATION) --out .screenshot >/dev/null
	$(PY) -m tests.support.browser screenshot .screenshot/report.html $(SCREENSHOT) --width 1000 --height 3900 --scale 0.6

.PHONY: test
test: install $(VENV)/.synced-notebook chromium $(CHECKOV) ## every test: unit, integration, Terraform against moto, Docker where an engine runs (~6 min here)
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

# notebooks/report.ipynb reads DQ_BUCKET's inputs when it is set, else DQ_DATA_FILE and DQ_POPULATION_FILE, else ../shared/data.
.PHONY: notebook
notebook: install $(VENV)/.synced-notebook ## re-execute notebooks/report.ipynb in place (inputs: DQ_BUCKET, else ../shared/data)
	$(PY) scripts/run_notebook.py notebooks/report.ipynb

.PHONY: test-unit
test-unit: install ## the package's own tests (tests/unit: each imports dataquest; no network, under a minute)
	$(BIN)/pytest -n $(UNIT_WORKERS) --dist load tests/unit $(PYTEST_ARGS)

.PHONY: lint
lint: install ## ruff, mypy --strict, terraform fmt -check, the module READMEs' tables, hadolint (actionlint, checkov: make test)
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	terraform fmt -check -recursive -diff terraform
	$(PY) scripts/tf_docs.py --check
	$(MAKE) hadolint

.PHONY: fmt
fmt: install ## format the code (ruff) and Terraform (terraform fmt), and regenerate the module READMEs' tables
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts
	terraform fmt -recursive terraform
	$(PY) scripts/tf_docs.py

.PHONY: check
check: lint test ## what CI runs: lint, then every test

# --- benchmarks (speed/memory targets live here, never in timed tests) --------------------------------------------
BENCH_RUNS ?= 3

.PHONY: bench
bench: bench-sync bench-analysis bench-coldstart bench-lake bench-lake-update ## every benchmark

.PHONY: bench-sync
bench-sync: install ## sync of a 512 MiB file into moto: dataquest vs rclone sync (time, peak RSS, no-op requests)
	@command -v rclone >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq rclone; } \
	  || echo "bench-sync: rclone is missing and this is not root: install it (apt-get install -y rclone)" >&2
	$(PY) bench/bench_sync.py --pairs $(BENCH_RUNS)

.PHONY: bench-analysis
bench-analysis: install ## report analysis on 100x pr.data.1.AllData (~320 MB): polars vs eager pandas, time and peak RSS
	$(PY) bench/bench_analysis.py --runs $(BENCH_RUNS)

.PHONY: bench-lake
bench-lake: install ## the lake on 100x pr.data.1.AllData: silver build vs DuckDB COPY to Parquet, silver queries vs the TSV
	$(PY) bench/bench_lake.py

.PHONY: bench-lake-update
bench-lake-update: install ## silver's updates over a 25-survey synthetic tree: first build, no-op, one changed file; the model
	$(PY) bench/bench_lake_update.py

.PHONY: bench-coldstart
bench-coldstart: install ## import time of the Lambda handlers in fresh processes vs pandas + boto3
	$(PY) bench/bench_coldstart.py

# The whole-tree bench (issue 12): TREE_SCALE 1 is ~10 surveys, ~70 files; 6.5 is the real tree's shape (~2 GB).
TREE_SCALE ?= 1
TREE_INTERVAL ?= 1.0

.PHONY: bench-tree
bench-tree: install ## sync-bls over a synthetic BLS tree (TREE_SCALE, TREE_INTERVAL): first, no-op, 3 surveys changed; model of the real tree
	$(PY) bench/tree.py --scale $(TREE_SCALE) --interval $(TREE_INTERVAL)

.PHONY: clean
clean: ## remove the environment, caches and outputs
	rm -rf $(VENV) $(TOOLS) out .screenshot .pytest_cache .mypy_cache .ruff_cache .bench

# --- containers: images, docker-compose, ECR (images/README.md) ------------------------------------------------
# ENV from the command line only (a shell's own $$ENV, a startup file, must not leak in). An ENV set in the
# environment that differs from what a target would use stops the targets that act on ENV (env-guard): `ENV=prod
# make tf-plan` must not plan dev.
ENV_FROM_ENVIRONMENT := $(if $(filter environment%,$(origin ENV)),$(ENV))
ENV := $(if $(filter command line,$(origin ENV)),$(ENV),dev)
EMULATOR ?= localstack
RIE ?= aws
RIE_VERSION ?= v1.37
BASE_IMAGE ?=
IMAGE_PREFIX ?= dataquest
IMAGE_TAG ?= local
ECR_PREFIX ?= dataquest
GIT_SHA = $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
FROM ?= $(GIT_SHA)
TO ?=
LOCAL_DIR ?= .local
COMPOSE_PROJECT ?= dataquest
DQ_AWS_PORT ?= 4566
DQ_INGEST_PORT ?= 9001
DQ_REPORT_PORT ?= 9002
LOCAL_INVOKE_TIMEOUT ?= 600
export DQ_AWS_PORT DQ_INGEST_PORT DQ_REPORT_PORT
export DQ_IMAGE_PREFIX := $(IMAGE_PREFIX)
export DQ_IMAGE_TAG := $(IMAGE_TAG)
# The functions' CPU type, as Terraform's `architecture` (modules/pipeline, default x86_64): the images are built
# for it whatever machine builds them (an arm64 image on an x86_64 function fails every invocation).
ARCH ?= x86_64
PLATFORM = $(if $(filter arm64,$(ARCH)),linux/arm64,$(if $(filter x86_64,$(ARCH)),linux/amd64,$(error ARCH must be x86_64 or arm64, not $(ARCH))))
# LocalStack: the pinned public image; where it cannot be pulled, `make localstack-image` builds an equivalent one
# from PyPI and LOCALSTACK_IMAGE=$(IMAGE_PREFIX)/localstack:4.14.0 makes compose (and local-up) use it.
LOCALSTACK_VERSION := 4.14.0
LOCALSTACK_IMAGE ?= localstack/localstack:$(LOCALSTACK_VERSION)
LOCALSTACK_LOCAL_IMAGE = $(IMAGE_PREFIX)/localstack:$(LOCALSTACK_VERSION)
LOCALSTACK_BASE_IMAGE ?= dataquest/base:trixie
export DQ_LOCALSTACK_IMAGE := $(LOCALSTACK_IMAGE)
# buildx when present (--provenance=false --sbom=false: an attestation makes an OCI image index, which Lambda does not
# run and promote refuses), else the classic builder.
DOCKER_BUILD = $(if $(shell docker buildx version 2>/dev/null),docker buildx build --provenance=false --sbom=false --load,DOCKER_BUILDKIT=0 docker build)
BUILD_ARGS = --network host $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE))
# Compose v2 (`docker compose`) when it answers, else v1 (`docker-compose`); COMPOSE_CLI=... chooses. Asked once, when
# a recipe first needs it.
COMPOSE_CLI = $(eval COMPOSE_CLI := $(shell docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose))$(COMPOSE_CLI)
# Compose v1 gives up on an engine call after 60 s; removing a container on a vfs engine can take longer.
export COMPOSE_HTTP_TIMEOUT ?= 600
COMPOSE = $(COMPOSE_CLI) -p $(COMPOSE_PROJECT) -f docker-compose.yml $(if $(filter moto,$(EMULATOR)),-f docker-compose.moto.yml) $(if $(filter standin,$(RIE)),-f docker-compose.standin.yml)
TF_LOCAL = TF_DATA_DIR=$(abspath $(LOCAL_DIR))/tf-data terraform -chdir=terraform/envs/local
TF_STATE = -state=$(abspath $(LOCAL_DIR))/terraform.tfstate
# A Terraform output of envs/local by its name, or by its former name (the report queue's queue_url is being renamed
# report_queue_url): either state works.
TF_LOCAL_OUTPUT = { $(TF_LOCAL) output $(TF_STATE) -raw $(1) 2>/dev/null || $(TF_LOCAL) output $(TF_STATE) -raw $(2); }

.PHONY: base-image
base-image: ## build the local base image (debootstrap; for machines that cannot pull): BASE_IMAGE=dataquest/base:bookworm
	scripts/build-base-image.sh $(BASE_IMAGE)

.PHONY: images
# An image is rebuilt only when its inputs changed: the hash of its Dockerfile, pyproject.toml, uv.lock, the package's
# sources, the base (its name and, where present, its ID) and the platform is its org.dataquest.inputs label; an
# image whose label matches is current and kept as it is (REBUILD=1 builds anyway). The image it replaces, and the
# build stages no build can use again, are removed at once (images-tidy), so the store stays bounded without a
# `docker image prune` (minutes on a vfs engine, and it drops the dependency stage every build reuses).
images: ## build the ingest and report images as dataquest/<fn>:IMAGE_TAG for ARCH (x86_64|arm64; BASE_IMAGE=... overrides the base), unless current
	@lock=$$(cat pyproject.toml uv.lock | sha256sum | cut -c1-16); built_any=; \
	for fn in ingest report; do \
	  base=$(or $(BASE_IMAGE),$$(sed -n 's/^ARG BASE_IMAGE=//p' images/$$fn/Dockerfile)); \
	  inputs=$$( { echo "$$base $$(docker image inspect --format '{{.Id}}' "$$base" 2>/dev/null) $(PLATFORM)"; cat images/$$fn/Dockerfile .dockerignore; \
	    find src/dataquest -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; echo "$$lock"; } | sha256sum | cut -c1-16); \
	  old=$$(docker image inspect --format '{{.Id}}' $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG) 2>/dev/null || true); \
	  if [[ -z "$(REBUILD)" && -n "$$old" && "$$(docker image inspect --format '{{index .Config.Labels "org.dataquest.inputs"}}' $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG))" == "$$inputs" ]]; then \
	    echo "images: $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG) is current (inputs $$inputs): not rebuilt" >&2; \
	  else \
	  echo "images: building $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG) for $(PLATFORM)" >&2; built_any=1; \
	  $(DOCKER_BUILD) $(BUILD_ARGS) --platform $(PLATFORM) --build-arg DQ_LOCK=$$lock --label org.dataquest.inputs=$$inputs -f images/$$fn/Dockerfile -t $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG) . >&2; \
	  new=$$(docker image inspect --format '{{.Id}}' $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG)); \
	  if [[ -n "$$old" && "$$old" != "$$new" ]]; then docker rmi "$$old" >/dev/null 2>&1 || true; fi; \
	  fi; \
	  built=$$(docker image inspect --format '{{.Os}}/{{.Architecture}}' $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG)); \
	  [[ "$$built" == "$(PLATFORM)" ]] || { echo "images: $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG) is $$built, not $(PLATFORM) (a local base of another architecture? the classic builder does not convert it)" >&2; exit 1; }; \
	  echo "images: $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG) $$(docker image inspect --format '{{.Size}}' $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG) | awk '{printf "%.0f MB", $$1/1e6}')"; \
	done; \
	if [[ -n "$$built_any" ]]; then $(call images_tidy,$$lock); fi

.PHONY: images-tidy
images-tidy: ## remove the build stages of the function images that no build will reuse (cheap; never other images)
	@$(call images_tidy,$$(cat pyproject.toml uv.lock | sha256sum | cut -c1-16))

# Only this project's build stages, by their labels: the package stages (rebuilt in seconds whenever the sources
# change) and the dependency stages of another lock than $(1) (the current one stays: every build reuses it).
define images_tidy
{ docker image prune -f --filter label=org.dataquest.stage=app >/dev/null \
  && docker image prune -f --filter label=org.dataquest.stage=deps --filter "label!=org.dataquest.lock=$(1)" >/dev/null; } \
  || echo "images: removing the stale build stages failed (harmless; make images-tidy tries again)" >&2
endef

.PHONY: moto-image
moto-image: ## build the moto emulator image (EMULATOR=moto)
	$(DOCKER_BUILD) $(BUILD_ARGS) -t $(IMAGE_PREFIX)/moto:5.2.5 images/moto >&2

.PHONY: localstack-image
localstack-image: ## build LocalStack 4.14.0 from PyPI on a debootstrapped trixie base, as dataquest/localstack:4.14.0 (cached)
	DQ_BASE_EXTRA_PACKAGES=curl scripts/build-base-image.sh $(LOCALSTACK_BASE_IMAGE)
	$(DOCKER_BUILD) --network host --build-arg BASE_IMAGE=$(LOCALSTACK_BASE_IMAGE) \
	  --build-arg LOCALSTACK_VERSION=$(LOCALSTACK_VERSION) -t $(LOCALSTACK_LOCAL_IMAGE) images/localstack >&2

.PHONY: hadolint
hadolint: install ## lint the Dockerfiles (hadolint, warnings fail)
	$(BIN)/hadolint --failure-threshold warning images/ingest/Dockerfile images/report/Dockerfile images/moto/Dockerfile \
	  images/localstack/Dockerfile

.PHONY: docker-smoke
# The test takes prebuilt images only under its own names (dataquest/<fn>:test); under any other tag it builds again.
docker-smoke: install ## build both images and invoke each under the Runtime API stand-in, checking the answers
	$(MAKE) images IMAGE_PREFIX=dataquest IMAGE_TAG=test
	DQ_SMOKE_PREBUILT=1 $(BIN)/pytest -m docker tests/integration/test_docker_images.py $(PYTEST_ARGS)

.PHONY: rie
rie: ## download the Lambda Runtime Interface Emulator into .rie/ (mounted by docker-compose, never in an image)
	@mkdir -p .rie
	@if [[ ! -x .rie/aws-lambda-rie ]]; then \
	  arch=$$(uname -m); suffix=$$([[ $$arch == aarch64 || $$arch == arm64 ]] && echo -arm64 || true); \
	  url=https://github.com/aws/aws-lambda-runtime-interface-emulator/releases/download/$(RIE_VERSION)/aws-lambda-rie$$suffix; \
	  curl -fsSL -o .rie/aws-lambda-rie "$$url" || { echo "rie: cannot download $$url; use RIE=standin (the test suite's stand-in)" >&2; exit 1; }; \
	  chmod 0755 .rie/aws-lambda-rie; \
	fi

.PHONY: local-up
local-up: images $(if $(filter moto,$(EMULATOR)),moto-image,$(if $(filter $(LOCALSTACK_LOCAL_IMAGE),$(LOCALSTACK_IMAGE)),localstack-image)) $(if $(filter standin,$(RIE)),,rie) ## start the emulator (EMULATOR=localstack|moto), apply terraform/envs/local, start the three functions (transfer x2) and the relays
	$(COMPOSE) up -d aws
	@$(call wait_healthy,aws)
	@mkdir -p $(LOCAL_DIR)
	$(TF_LOCAL) init -input=false -no-color $(if $(DQ_TF_PLUGIN_DIR),-plugin-dir=$(DQ_TF_PLUGIN_DIR)) >$(LOCAL_DIR)/terraform-init.log 2>&1 \
	  || { tail -n 20 $(LOCAL_DIR)/terraform-init.log >&2; echo "local-up: terraform init failed (no registry? set DQ_TF_PLUGIN_DIR to a provider mirror)" >&2; exit 1; }
	$(TF_LOCAL) apply -input=false -auto-approve -no-color $(TF_STATE) -var aws_endpoint_url=http://127.0.0.1:$(DQ_AWS_PORT) >$(LOCAL_DIR)/terraform-apply.log 2>&1 \
	  || { tail -n 40 $(LOCAL_DIR)/terraform-apply.log >&2; echo "local-up: terraform apply to the emulator failed" >&2; exit 1; }
	DQ_BUCKET=$$($(TF_LOCAL) output $(TF_STATE) -raw bucket_name) \
	DQ_QUEUE=$$($(TF_LOCAL) output $(TF_STATE) -raw report_queue_url | sed 's#.*/##') \
	DQ_TRANSFER_QUEUE=$$($(TF_LOCAL) output $(TF_STATE) -raw transfer_queue_url | sed 's#.*/##') \
	DQ_TRANSFER_QUEUE_URL=http://aws:4566/$$($(TF_LOCAL) output $(TF_STATE) -raw transfer_queue_url | sed 's#^[a-z]*://[^/]*/##') \
	$(COMPOSE) up -d
	@$(call wait_healthy,ingest)
	@$(call wait_healthy,transfer-1)
	@$(call wait_healthy,transfer-2)
	@$(call wait_healthy,report)
	@echo "local-up: ingest http://127.0.0.1:$(DQ_INGEST_PORT), report http://127.0.0.1:$(DQ_REPORT_PORT), transfer x2 (not published), AWS http://127.0.0.1:$(DQ_AWS_PORT); next: make local-invoke"

.PHONY: local-invoke
local-invoke: install ## post a scheduled event to the ingest function, wait for its transfers and the report, print them
	$(PY) scripts/local_invoke.py --ingest-url http://127.0.0.1:$(DQ_INGEST_PORT)/2015-03-31/functions/function/invocations \
	  --aws-endpoint http://127.0.0.1:$(DQ_AWS_PORT) --bucket $$($(TF_LOCAL) output $(TF_STATE) -raw bucket_name) \
	  --timeout $(LOCAL_INVOKE_TIMEOUT)

.PHONY: local-logs
local-logs: ## the logs of every local service
	$(COMPOSE) logs --no-color --tail=500

.PHONY: local-down
local-down: ## stop and remove the local services, their network and the local Terraform state
	$(COMPOSE) down -v --remove-orphans
	rm -rf $(LOCAL_DIR)/terraform.tfstate $(LOCAL_DIR)/terraform.tfstate.backup

.PHONY: push
push: env-guard install images ## build both images, tag them with the git commit, push to ECR, print the digests (ENV=dev)
	@registry=$$($(PY) -m dataquest.cli promote registry); \
	$(PY) -m dataquest.cli promote login-password | docker login --username AWS --password-stdin "$$registry" >&2; \
	for fn in ingest report; do \
	  target="$$registry/$(ECR_PREFIX)/$$fn:$(GIT_SHA)"; \
	  docker tag $(IMAGE_PREFIX)/$$fn:$(IMAGE_TAG) "$$target"; \
	  docker push "$$target" >&2; \
	  echo "$$fn $$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$$target" | grep "^$$registry/$(ECR_PREFIX)/$$fn@")"; \
	done; \
	echo "push: next: make promote ENV=$(ENV) FROM=$(GIT_SHA)" >&2

.PHONY: promote
promote: env-guard install ## promote FROM (default: this commit) to TO (default: ENV-FROM) by digest, refusing an image index or another ARCH; write terraform/envs/aws/ENV.images.tfvars.json
	$(PY) -m dataquest.cli promote release --env $(ENV) --from $(FROM) $(if $(TO),--to $(TO)) --prefix $(ECR_PREFIX) --architecture $(ARCH) \
	  --tfvars $(TF_AWS)/$(ENV).images.tfvars.json

define wait_healthy
for _ in $$(seq 180); do \
  status=$$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' $$($(COMPOSE) ps -q $(1)) 2>/dev/null || true); \
  [[ "$$status" == healthy ]] && exit 0; sleep 1; \
done; \
echo "local-up: $(1) is not healthy ($$status); see make local-logs" >&2; exit 1
endef

.PHONY: env-guard
env-guard:
	$(if $(and $(ENV_FROM_ENVIRONMENT),$(filter-out $(ENV),$(ENV_FROM_ENVIRONMENT))),$(error ENV=$(ENV_FROM_ENVIRONMENT) is set in your environment, but make takes ENV from its command line only and would act on $(ENV): run `make $(MAKECMDGOALS) ENV=$(ENV_FROM_ENVIRONMENT)` (or unset ENV)))
	@:

# The deployed functions of ENV, named by its Terraform outputs: need that state (make tf-apply) and AWS credentials.
TF_OUTPUT = $$($(TF_ENV) output -raw $(1) 2>/dev/null || { echo "$(2): no $(1) in the Terraform state of $(ENV) ($(TF_DIR)): deploy it first (make tf-apply ENV=$(ENV))" >&2; exit 1; })

.PHONY: invoke
invoke: env-guard install-run ## invoke ENV's ingest function once (needs its Terraform state and AWS credentials) and print its summary
	@fn=$(call TF_OUTPUT,ingest_function_name,invoke); \
	echo "invoke: $$fn (waits for the run, up to its timeout)" >&2; \
	$(PY) scripts/functions.py invoke "$$fn"

.PHONY: logs
logs: env-guard install-run ## follow ENV's function logs (both log groups; needs its Terraform state and AWS credentials; SINCE=10m)
	@ingest=$(call TF_OUTPUT,ingest_function_name,logs); report=$(call TF_OUTPUT,report_function_name,logs); \
	$(PY) scripts/functions.py logs "$$ingest" "$$report" --since $(SINCE)

SINCE ?= 10m

# --- Terraform (terraform/README.md) ---------------------------------------------------------------------------
# ENV=dev|prod|shared|local (default dev); TF_ARGS passes anything else to plan/apply/destroy, TF_INIT_ARGS to init.
# dev and prod are one root, terraform/envs/aws: ENV picks its variable file (<env>.tfvars, then the deployment's
# <env>.local.tfvars and <env>.images.tfvars.json when present), its backend settings (<env>.s3.tfbackend when
# present, else <env>.local.tfbackend: a state file of its own) and its own TF_DATA_DIR (.terraform-<env>), so one
# environment's state, backend or plan is never the other's.
# DQ_TF_PLUGIN_DIR=<filesystem mirror> installs the provider from a mirror instead of the registry.
TF_ENVS := dev prod shared local
TF_ROOTS := aws shared local
TF_ARGS ?=
TF_INIT_ARGS ?=
TF_INIT_FLAGS = -input=false $(if $(DQ_TF_PLUGIN_DIR),-plugin-dir=$(DQ_TF_PLUGIN_DIR))
TF_ROOT_DIR ?= terraform/envs
TF_AWS = $(TF_ROOT_DIR)/aws
TF_IS_AWS = $(filter dev prod,$(ENV))
TF_DIR = $(TF_ROOT_DIR)/$(if $(TF_IS_AWS),aws,$(ENV))
TF_ENV = $(if $(TF_IS_AWS),TF_DATA_DIR=$(abspath $(TF_AWS))/.terraform-$(ENV) )terraform -chdir=$(TF_DIR)
TF_BACKEND = $(if $(TF_IS_AWS),-backend-config=$(if $(wildcard $(TF_AWS)/$(ENV).s3.tfbackend),$(ENV).s3.tfbackend,$(ENV).local.tfbackend))
TF_VAR_FILES = $(if $(TF_IS_AWS),-var-file=$(ENV).tfvars $(foreach f,$(ENV).local.tfvars $(ENV).images.tfvars.json,$(if $(wildcard $(TF_AWS)/$(f)),-var-file=$(f))))
# A file Terraform loads on its own in envs/aws would reach both environments.
TF_SHARED_VALUES = $(wildcard $(TF_AWS)/terraform.tfvars $(TF_AWS)/terraform.tfvars.json $(TF_AWS)/*.auto.tfvars $(TF_AWS)/*.auto.tfvars.json)

$(CHECKOV): | $(UV)
	$(UV) venv --quiet --python 3.11 $(TOOLS)/checkov
	$(UV) pip install --quiet --python $(TOOLS)/checkov/bin/python 'checkov==$(CHECKOV_VERSION)'

.PHONY: tf-fmt
tf-fmt: ## format terraform/ (terraform fmt -recursive)
	terraform fmt -recursive terraform

.PHONY: tf-validate
tf-validate: ## terraform fmt -check and validate of every root (offline with DQ_TF_PLUGIN_DIR)
	terraform fmt -check -recursive terraform
	@for root in $(TF_ROOTS); do \
	  TF_DATA_DIR=$(abspath terraform/envs)/$$root/.terraform-validate terraform -chdir=terraform/envs/$$root init -backend=false $(TF_INIT_FLAGS) -no-color >/dev/null \
	    || { echo "tf-validate: terraform init failed in envs/$$root (no registry here? DQ_TF_PLUGIN_DIR=<provider mirror>)" >&2; exit 1; }; \
	  printf 'envs/%s: ' "$$root"; TF_DATA_DIR=$(abspath terraform/envs)/$$root/.terraform-validate terraform -chdir=terraform/envs/$$root validate -no-color; \
	done

.PHONY: tf-env-check
tf-env-check: env-guard
	$(if $(filter $(ENV),$(TF_ENVS)),,$(error ENV=$(ENV) is not a Terraform environment: use one of $(TF_ENVS)))
	$(if $(and $(TF_IS_AWS),$(TF_SHARED_VALUES)),$(error $(TF_SHARED_VALUES): Terraform loads these in dev and prod alike; move the values to $(TF_AWS)/$(ENV).local.tfvars))
	@:

# State in S3 for ENV (CI, or a team): backend_override.tf (git-ignored) makes the root's backend "s3", and
# <env>.s3.tfbackend names the bucket and ENV's own key. TF_STATE_BUCKET=<bucket> AWS_REGION=<region>.
.PHONY: tf-s3-backend
tf-s3-backend: tf-env-check ## write ENV's S3 backend settings (TF_STATE_BUCKET, AWS_REGION) for dev or prod
	$(if $(TF_IS_AWS),,$(error tf-s3-backend: ENV must be dev or prod, not $(ENV)))
	$(if $(TF_STATE_BUCKET),,$(error tf-s3-backend: set TF_STATE_BUCKET=<the state bucket>))
	printf 'terraform {\n  backend "s3" {}\n}\n' > $(TF_AWS)/backend_override.tf
	printf 'bucket       = "%s"\nkey          = "dataquest/%s/terraform.tfstate"\nregion       = "%s"\nencrypt      = true\nuse_lockfile = true\n' \
	  '$(TF_STATE_BUCKET)' '$(ENV)' '$(or $(AWS_REGION),us-east-1)' > $(TF_AWS)/$(ENV).s3.tfbackend

.PHONY: tf-init
tf-init: tf-env-check ## terraform init of ENV (its own TF_DATA_DIR and backend settings; TF_INIT_ARGS=-migrate-state...)
	$(TF_ENV) init $(TF_INIT_FLAGS) $(TF_BACKEND) $(TF_INIT_ARGS)

.PHONY: tf-plan
tf-plan: tf-init ## terraform init + plan of ENV (default dev) with its variable files; TF_ARGS=-out=... etc.
	$(TF_ENV) plan -input=false $(TF_VAR_FILES) $(TF_ARGS)

.PHONY: tf-apply
tf-apply: tf-init ## terraform init + apply of ENV (asks for confirmation; TF_ARGS=-auto-approve to skip)
	$(TF_ENV) apply $(if $(filter %.tfplan,$(TF_ARGS)),,$(TF_VAR_FILES)) $(TF_ARGS)

.PHONY: tf-destroy
tf-destroy: tf-init ## terraform destroy of ENV (asks for confirmation)
	$(TF_ENV) destroy $(TF_VAR_FILES) $(TF_ARGS)

.PHONY: checkov
checkov: $(CHECKOV) ## checkov over terraform/ (.checkov.yaml): zero failed checks, skips inline with reasons
	$(CHECKOV) --config-file .checkov.yaml
