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

.PHONY: all build test lint bench fuzz clean

all: lint test build

## build: the statusd binary, with version, revision and branch stamped in
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/statusd

## test: go vet and the race-enabled test suite against real services
test:
	./scripts/test.sh

## lint: gofmt and go vet
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: Go benchmarks (the load scripts are under bench/)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: run each fuzz target for FUZZTIME
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/config/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/threshold/
	$(GO) test -run '^$$' -fuzz FuzzDSN -fuzztime $(FUZZTIME) ./exporter/probe/
	$(GO) test -run '^$$' -fuzz FuzzAlertmanagerIntake -fuzztime $(FUZZTIME) ./web/
	$(GO) test -run '^$$' -fuzz FuzzParseTime -fuzztime $(FUZZTIME) ./cmd/statusd/

clean:
	rm -rf bin data
