# statusd — see README.md.
GO        ?= go
BIN       ?= bin/statusd
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
BUILDDATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VPKG      := github.com/prometheus/common/version
LDFLAGS   := -s -w -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) \
             -X $(VPKG).Branch=$(BRANCH) -X $(VPKG).BuildDate=$(BUILDDATE) -X $(VPKG).BuildUser=$(USER)
FUZZTIME  ?= 30s
# golangci-lint, pinned; `go run` builds it once into Go's cache, so a
# fresh machine needs nothing but Go and the module proxy.
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT ?= $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: all build test lint golden bench fuzz clean

all: lint test build

## build: the statusd binary, with version, revision and branch stamped in
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/statusd

## test: go vet and the race-enabled test suite against real services
test:
	./scripts/test.sh

## lint: golangci-lint with the design's import rules (.golangci.yml):
## depguard, go vet, staticcheck, errorlint, sloglint, revive, gofmt…
lint:
	$(GOLANGCI_LINT) run ./...

## golden: rewrite the golden files of the notifier's integrations
golden:
	$(GO) test ./notifier/slack ./notifier/email ./notifier/webhook -run TestGolden -update

## bench: Go benchmarks (the load scripts are under bench/)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: run each fuzz target for FUZZTIME
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/config/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/threshold/
	$(GO) test -run '^$$' -fuzz FuzzDSN -fuzztime $(FUZZTIME) ./exporter/probe/
	$(GO) test -run '^$$' -fuzz FuzzAlertmanagerIntake -fuzztime $(FUZZTIME) ./web/
	$(GO) test -run '^$$' -fuzz FuzzHeartbeatBody -fuzztime $(FUZZTIME) ./web/
	$(GO) test -run '^$$' -fuzz FuzzWriteBodies -fuzztime $(FUZZTIME) ./web/
	$(GO) test -run '^$$' -fuzz FuzzMarkdown -fuzztime $(FUZZTIME) ./web/page/
	$(GO) test -run '^$$' -fuzz FuzzSubscribe -fuzztime $(FUZZTIME) ./internal/content/
	$(GO) test -run '^$$' -fuzz FuzzParseTime -fuzztime $(FUZZTIME) ./cmd/statusd/

clean:
	rm -rf bin data
