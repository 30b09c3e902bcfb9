package accesslog

import "strings"

// Flag is one of Envoy's response flags: why Envoy, not the upstream,
// shaped the response (or the connection), as %RESPONSE_FLAGS% and
// %RESPONSE_FLAGS_LONG% write it.
type Flag struct {
	Short   string `json:"short"`
	Long    string `json:"long"`
	Meaning string `json:"meaning"`
	// Check is what a mesh user should look at first.
	Check string `json:"check"`
}

// Flags are all of Envoy's core response flags, in Envoy's order (the order
// %RESPONSE_FLAGS% lists them in). Meanings follow Envoy's access log
// documentation; the checks are where Istio users find the cause.
var Flags = []Flag{
	{"LH", "FailedLocalHealthCheck", "the local service failed its health check (503)", "the app's readiness: the sidecar answers 503 while the app is unhealthy"},
	{"UH", "NoHealthyUpstream", "no healthy upstream host in the cluster (503)", "endpoints of the cluster (kubectl mesh endpoints POD --cluster ...): pods ready? outlier detection ejected them? Service selector and ports right?"},
	{"UT", "UpstreamRequestTimeout", "the upstream did not answer within the route timeout (504)", "the VirtualService timeout and the upstream's latency"},
	{"LR", "LocalReset", "Envoy reset the connection itself (503)", "the upstream connection pool and circuit breakers (DestinationRule connectionPool)"},
	{"UR", "UpstreamRemoteReset", "the upstream reset the stream (503)", "the upstream app's logs: it crashed or closed the connection; an HTTP/2 or gRPC mismatch"},
	{"UF", "UpstreamConnectionFailure", "connecting to the upstream failed (503)", "with a TLS reason: an mTLS mismatch (PeerAuthentication STRICT vs a DestinationRule without ISTIO_MUTUAL, or no sidecar on the server); else: is the app listening on that port?"},
	{"UC", "UpstreamConnectionTermination", "the upstream closed the connection (503)", "upstream keep-alive shorter than Envoy's idle timeout; the app restarting"},
	{"UO", "UpstreamOverflow", "circuit breaking: the upstream's limits were reached (503)", "DestinationRule connectionPool limits and outlierDetection; the upstream's capacity"},
	{"NR", "NoRouteFound", "no route (404) or no filter chain for the connection", "the VirtualService hosts, gateways and port; the Service port name or appProtocol (HTTP vs TCP); the Host header"},
	{"DI", "DelayInjected", "the request was delayed by fault injection", "the VirtualService fault.delay"},
	{"FI", "FaultInjected", "the request was aborted by fault injection", "the VirtualService fault.abort"},
	{"RL", "RateLimited", "the request was rate limited locally (429)", "local rate limit filters (EnvoyFilter, Telemetry/WasmPlugin)"},
	{"UAEX", "UnauthorizedExternalService", "the external authorization service denied the request", "AuthorizationPolicy CUSTOM and the ext_authz provider"},
	{"RLSE", "RateLimitServiceError", "the rate limit service failed", "the rate limit service's health and the failure_mode_deny setting"},
	{"DC", "DownstreamConnectionTermination", "the client closed the connection before the response", "the client's own timeout; a slow upstream"},
	{"URX", "UpstreamRetryLimitExceeded", "retries (HTTP) or connect attempts (TCP) ran out", "the VirtualService retries and why each attempt failed (the upstream's logs)"},
	{"SI", "StreamIdleTimeout", "the stream idle timeout fired (408 or 504)", "idle timeouts (stream_idle_timeout, DestinationRule idleTimeout) against long-lived streams"},
	{"IH", "InvalidEnvoyRequestHeaders", "the request had invalid x-envoy-* headers (400)", "headers the client sets that Envoy reserves"},
	{"DPE", "DownstreamProtocolError", "the downstream request broke the HTTP protocol", "the client's HTTP version and headers; TLS sent to a plaintext port"},
	{"UMSDR", "UpstreamMaxStreamDurationReached", "the upstream stream reached its maximum duration", "max_stream_duration settings"},
	{"RFCF", "ResponseFromCacheFilter", "the response came from the cache filter", "nothing: served from Envoy's cache"},
	{"NFCF", "NoFilterConfigFound", "a filter's config (ECDS) was not available", "kubectl mesh ecds POD: a WasmPlugin or EnvoyFilter whose config never arrived"},
	{"DT", "DurationTimeout", "the request or connection reached its maximum duration", "max_connection_duration / max_downstream_connection_duration"},
	{"UPE", "UpstreamProtocolError", "the upstream response broke the HTTP protocol", "the Service port's protocol (name or appProtocol): HTTP/2 or gRPC declared for an HTTP/1.1 app, or the reverse"},
	{"NC", "NoClusterFound", "the route's cluster does not exist", "kubectl mesh clusters POD: the DestinationRule subset or the Service named by the VirtualService is missing"},
	{"OM", "OverloadManagerTerminated", "Envoy's overload manager terminated the request", "the proxy's memory and CPU limits (sidecar resources)"},
	{"DF", "DnsResolutionFailed", "DNS resolution of the upstream failed", "the ServiceEntry hosts with resolution DNS, and cluster DNS"},
	{"DO", "DropOverload", "the request was dropped by the drop overload policy", "load assignment drop_overloads"},
	{"DR", "DownstreamRemoteReset", "the client reset the stream", "the client: it cancelled (gRPC deadline, browser navigation)"},
	{"UDO", "UnconditionalDropOverload", "the request was dropped unconditionally by drop overload (100%)", "load assignment drop_overloads at 100%"},
}

var flagIndex = map[string]*Flag{}

func init() {
	for i := range Flags {
		f := &Flags[i]
		flagIndex[f.Short] = f
		flagIndex[f.Long] = f
	}
}

// LookupFlag finds a flag by its short or long name.
func LookupFlag(name string) (Flag, bool) {
	f, ok := flagIndex[name]
	if !ok {
		return Flag{}, false
	}
	return *f, true
}

// ParseFlags reads %RESPONSE_FLAGS% or %RESPONSE_FLAGS_LONG% ("-", "UH",
// "UF,URX", "NoHealthyUpstream") into short names; unknown names (custom
// flags of extensions) are kept as they are.
func ParseFlags(s string) []string {
	if s == "" || s == "-" {
		return nil
	}
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if f, ok := flagIndex[name]; ok {
			name = f.Short
		}
		out = append(out, name)
	}
	return out
}
