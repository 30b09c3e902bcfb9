// The ztunnel stand-in of the e2e stack: its own module, so that the
// project's go.mod never requires istio.io/istio. hack/e2e/build.sh builds
// it with the istio.io/istio the stack's istiod is built from.
module e2e.build/ztunnel-standin

go 1.26
