# kubectl mesh. `make help` lists the targets.
SHELL   := /usr/bin/env bash
# A release is tagged vX.Y.Z; between releases the version is v0.0.0-<commit>,
# which krew (and semver) accept.
VERSION ?= $(shell v=$$(git describe --tags --match 'v*' --dirty 2>/dev/null) && echo $$v || echo v0.0.0-$$(git describe --always --dirty 2>/dev/null || echo dev))
PKG     := github.com/kubectl-mesh/kubectl-mesh
LDFLAGS := -s -w -X $(PKG)/pkg/cmd.version=$(VERSION)
BINDIR  ?= /usr/local/bin
# Long builds and generated benchmark dumps live outside the repo.
CACHE   ?= $(HOME)/.cache/kubectl-mesh

.PHONY: help build install test lint bench dist release krew-build release-test e2e-build e2e docs clean

help:
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

build: ## build bin/kubectl-mesh
	@echo "building bin/kubectl-mesh $(VERSION) (the first build fetches and compiles its modules: a few minutes on 2 cores)"
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-mesh ./cmd/kubectl-mesh

install: build ## install kubectl-mesh into BINDIR (default /usr/local/bin), where kubectl finds plugins, with kubectl_complete-mesh for completion
	install -d $(BINDIR)
	install -m 0755 bin/kubectl-mesh $(BINDIR)/kubectl-mesh
	ln -sf kubectl-mesh $(BINDIR)/kubectl_complete-mesh
	@case ":$$PATH:" in *":$(BINDIR):"*) ;; *) echo "note: $(BINDIR) is not on your PATH: add it (export PATH=\"$(BINDIR):\$$PATH\") so kubectl finds the plugin";; esac

test: lint ## vet, format check, unit/golden/fuzz-seed tests and the kubectl plugin test
	go test -count=1 ./...

lint: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	go vet -tags e2e ./test/e2e
	go vet -tags release ./test/release

bench: build ## time whole commands against istioctl proxy-config on generated dumps (see hack/bench.sh)
	CACHE=$(CACHE) hack/bench.sh

dist: ## release archives for linux/darwin/windows on amd64/arm64 with sha256 sums, and dist/krew.yaml for them
	hack/dist.sh $(VERSION)
	hack/krew.sh $(VERSION) dist/krew.yaml

release: dist ## dist, then krew.yaml for VERSION (a vX.Y.Z tag) at the top of the repository
	cp dist/krew.yaml krew.yaml

krew-build: ## build krew v0.4.3 and its manifest validator from the Go module proxy, cached in CACHE
	CACHE=$(CACHE) hack/krew-build.sh >/dev/null

release-test: dist krew-build ## validate krew.yaml and dist/krew.yaml with krew itself, install the archive with krew, run it through kubectl
	KREW_BIN=$(CACHE)/krew-v0.4.3/bin go test -tags release -count=1 ./test/release

e2e-build: ## build etcd, kube-apiserver, istiod (pilot-discovery) and the ztunnel stand-in from the Go module proxy for the e2e stack, cached in CACHE
	CACHE=$(CACHE) hack/e2e/build.sh
	CACHE=$(CACHE) hack/e2e/build.sh pilot-discovery
	CACHE=$(CACHE) hack/e2e/build.sh ztunnel-standin

e2e: e2e-build ## end-to-end tests on real etcd and kube-apiserver started on loopback (test/e2e)
	go test -tags e2e -count=1 -timeout 15m ./test/e2e

docs: ## rewrite the command outputs shown in README.md (make test fails when they are stale)
	go test ./pkg/cmd -run TestReadmeShowsRealOutput -update

clean:
	rm -rf bin dist
