# kubectl mesh. `make help` lists the targets.
SHELL   := /usr/bin/env bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PKG     := github.com/kubectl-mesh/kubectl-mesh
LDFLAGS := -s -w -X $(PKG)/pkg/cmd.version=$(VERSION)
BINDIR  ?= /usr/local/bin
# Long builds and generated benchmark dumps live outside the repo.
CACHE   ?= $(HOME)/.cache/kubectl-mesh

.PHONY: help build install test lint bench dist e2e-build e2e clean

help:
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

build: ## build bin/kubectl-mesh
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-mesh ./cmd/kubectl-mesh

install: build ## install kubectl-mesh into BINDIR (default /usr/local/bin), where kubectl finds plugins
	install -d $(BINDIR)
	install -m 0755 bin/kubectl-mesh $(BINDIR)/kubectl-mesh

test: lint ## vet, format check, unit/golden/fuzz-seed tests and the kubectl plugin test
	go test -count=1 ./...

lint: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	go vet -tags e2e ./test/e2e

bench: build ## time whole commands against istioctl proxy-config on generated dumps (see hack/bench.sh)
	CACHE=$(CACHE) hack/bench.sh

dist: ## release archives for linux/darwin/windows on amd64/arm64 with sha256 sums, and krew.yaml for them
	hack/dist.sh $(VERSION)
	hack/krew.sh $(VERSION)

e2e-build: ## build etcd and kube-apiserver from the Go module proxy for the e2e stack, cached in CACHE
	CACHE=$(CACHE) hack/e2e/build.sh

e2e: e2e-build ## end-to-end tests on real etcd and kube-apiserver started on loopback (test/e2e)
	go test -tags e2e -count=1 -timeout 15m ./test/e2e

clean:
	rm -rf bin dist
