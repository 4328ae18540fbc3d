# The two commands a new user runs: `make up` (the dev stack on the local Docker
# engine, state in ./.state, no Pulumi Cloud login) and `make test` (everything, on a
# fresh Debian machine: it installs the packages and builds the tools the tests need).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PULUMI_VERSION := v3.274.1
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
export PULUMI_SKIP_UPDATE_CHECK := true
GO_TEST ?= go test -count=1

.PHONY: up preview destroy outputs diagram docs test lint unit integration engine dockerapi realdocker realdocker-setup workflows bench deps tools

up: bin/pulumi ## Deploy the dev stack on the local Docker engine
	go run ./cmd/moodlectl up --stack dev

preview: bin/pulumi ## Preview a stack: make preview STACK=prod
	go run ./cmd/moodlectl preview --stack $(or $(STACK),dev)

destroy: bin/pulumi ## Destroy the dev stack
	go run ./cmd/moodlectl destroy --stack $(or $(STACK),dev)

outputs: bin/pulumi
	go run ./cmd/moodlectl outputs --stack $(or $(STACK),dev)

# The topology drawings the README shows, from what each committed stack's program
# registers; a unit test fails when they are out of date.
diagram:
	mkdir -p docs/diagram
	for stack in dev prod; do \
		go run ./cmd/moodlectl diagram --stack $$stack --mermaid docs/diagram/$$stack.mmd --svg docs/diagram/$$stack.svg; \
	done

# The tables of docs/config.md, from the declarations of the settings (the Spec's
# fields and tags, the targets' defaults, stacks/config/reference_rows.go); a unit
# test fails when they are out of date.
docs:
	go run ./tools/configdoc

test: deps tools lint unit integration engine dockerapi realdocker workflows ## Everything CI runs

deps: ## Debian packages the real-program tests need (nginx, php-fpm, Redis, PostgreSQL, wrk)
	bash scripts/install-test-deps.sh

tools: bin/pulumi bin/actionlint bin/staticcheck

# The Pulumi CLI, built from the Go module proxy at the SDK's version; the version
# flag is what lets the Automation API accept it.
bin/pulumi: tools/pulumi/go.mod
	cd tools/pulumi && go build -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$(PULUMI_VERSION)" -o $(BIN)/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

bin/actionlint: tools/actionlint/go.mod
	cd tools/actionlint && go build -o $(BIN)/actionlint github.com/rhysd/actionlint/cmd/actionlint

bin/staticcheck: tools/staticcheck/go.mod
	cd tools/staticcheck && go build -o $(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck

lint: bin/staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go vet -tags integration ./tests/realprograms/... ./tests/bench/...
	go vet -tags engine ./tests/engine/... ./cmd/moodlectl/
	go vet -tags docker ./cmd/moodlectl/dockerapi/... ./cmd/moodlectl/installlog/... ./stacks/preflight/
	go vet -tags realdocker ./tests/realdocker/...
	staticcheck ./...
	staticcheck -tags integration ./tests/realprograms/... ./tests/bench/...
	staticcheck -tags engine ./tests/engine/... ./cmd/moodlectl/
	staticcheck -tags docker ./cmd/moodlectl/dockerapi/... ./cmd/moodlectl/installlog/... ./stacks/preflight/
	staticcheck -tags realdocker ./tests/realdocker/...

# The config tests run the pinned CLI and fail without it.
unit: bin/pulumi ## Model, renderers, config validation and both stacks under Pulumi mocks
	MOODLE_TEST_PULUMI=$(BIN)/pulumi $(GO_TEST) ./...

integration: ## The rendered files under real nginx, php-fpm, PHP, Redis and PostgreSQL
	$(GO_TEST) -tags integration -timeout 15m -v ./tests/realprograms/... ./tests/bench/...

engine: bin/pulumi ## The real Pulumi engine over the program, with in-process fake providers
	$(GO_TEST) -tags engine -timeout 20m ./tests/engine/... ./cmd/moodlectl/

dockerapi: ## The Docker Engine API clients (the tools', the preflight's) against the machine's daemon (started if none runs)
	bash scripts/start-dockerd.sh
	$(GO_TEST) -tags docker -timeout 10m ./cmd/moodlectl/dockerapi/... ./cmd/moodlectl/installlog/... ./stacks/preflight/

realdocker-setup: deps bin/pulumi ## The real Docker tier's engine, provider plugins and stand-in images (root)
	bash tests/realdocker/setup.sh

realdocker: realdocker-setup ## The dev stack deployed with the real plugins on a real Docker engine
	$(GO_TEST) -tags realdocker -timeout 60m -v ./tests/realdocker/...

workflows: bin/actionlint
	actionlint .github/workflows/*.yml

# The last part compares the working tree with BASE (default HEAD~1) on the engine
# tier and the real Docker tier, which needs realdocker-setup (root).
bench: deps bin/pulumi realdocker-setup ## Load balancer vs direct php-fpm, pool RSS, engine time, operations against the previous commit
	bash tests/bench/run.sh
