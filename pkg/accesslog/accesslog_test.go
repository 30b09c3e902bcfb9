package accesslog

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	alsdata "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Real access log lines, each with where it was published.
var samples = []struct {
	source string
	line   string
	want   Entry
}{
	{
		source: "istio.io, Tasks > Observability > Logs > Envoy Access Logs (sleep -> httpbin, Istio's default text format)",
		line:   `[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default`,
		want: Entry{Time: time.Date(2020, 11, 25, 21, 26, 18, 409e6, time.UTC), Method: "GET", Path: "/status/418", Protocol: "HTTP/1.1",
			Status: 418, Details: "via_upstream", BytesSent: 135, Duration: 4 * time.Millisecond, UpstreamTime: "4",
			UserAgent: "curl/7.73.0-DEV", RequestID: "84961386-6d84-929d-98bd-c5aee93b5c88", Authority: "httpbin:8000",
			UpstreamHost: "10.44.1.27:80", UpstreamCluster: "outbound|8000||httpbin.foo.svc.cluster.local",
			UpstreamLocal: "10.44.1.23:37652", DownstreamLocal: "10.0.45.184:8000", DownstreamRemote: "10.44.1.23:46520",
			Route: "default", Format: "istio"},
	},
	{
		source: "oneuptime.com/blog/post/2026-02-24-how-to-parse-istio-access-log-fields (a 503 UC in Istio's default text format)",
		line:   `[2026-02-24T14:23:15.456Z] "POST /api/orders HTTP/1.1" 503 UC via_upstream - "-" 156 91 30004 - "-" "python-requests/2.31.0" "f47ac10b-58cc-4372-a567-0e02b2c3d479" "order-service.production.svc.cluster.local" "10.244.3.12:8080" outbound|8080||order-service.production.svc.cluster.local 10.244.1.5:54321 10.96.45.67:8080 10.244.1.5:33210 - default`,
		want: Entry{Time: time.Date(2026, 2, 24, 14, 23, 15, 456e6, time.UTC), Method: "POST", Path: "/api/orders", Protocol: "HTTP/1.1",
			Status: 503, Flags: []string{"UC"}, Details: "via_upstream", BytesReceived: 156, BytesSent: 91, Duration: 30004 * time.Millisecond,
			UserAgent: "python-requests/2.31.0", RequestID: "f47ac10b-58cc-4372-a567-0e02b2c3d479", Authority: "order-service.production.svc.cluster.local",
			UpstreamHost: "10.244.3.12:8080", UpstreamCluster: "outbound|8080||order-service.production.svc.cluster.local",
			UpstreamLocal: "10.244.1.5:54321", DownstreamLocal: "10.96.45.67:8080", DownstreamRemote: "10.244.1.5:33210", Route: "default", Format: "istio"},
	},
	{
		source: "oneuptime.com/blog/post/2026-02-24-how-to-read-and-interpret-envoy-access-logs-for-debugging (an inbound request, with SNI)",
		line:   `[2024-01-15T10:30:45.123Z] "GET /api/users HTTP/1.1" 200 - via_upstream - "-" 0 1234 15 14 "-" "curl/7.68.0" "abc-123-def" "my-service:8080" "10.0.0.5:8080" inbound|8080|| 10.0.0.10:45678 10.0.0.5:8080 10.0.0.10:34567 outbound_.8080_._.my-service.default.svc.cluster.local default`,
		want: Entry{Time: time.Date(2024, 1, 15, 10, 30, 45, 123e6, time.UTC), Method: "GET", Path: "/api/users", Protocol: "HTTP/1.1",
			Status: 200, Details: "via_upstream", BytesSent: 1234, Duration: 15 * time.Millisecond, UpstreamTime: "14",
			UserAgent: "curl/7.68.0", RequestID: "abc-123-def", Authority: "my-service:8080", UpstreamHost: "10.0.0.5:8080",
			UpstreamCluster: "inbound|8080||", UpstreamLocal: "10.0.0.10:45678", DownstreamLocal: "10.0.0.5:8080", DownstreamRemote: "10.0.0.10:34567",
			ServerName: "outbound_.8080_._.my-service.default.svc.cluster.local", Route: "default", Format: "istio"},
	},
	{
		source: "getambassador.io/blog/understanding-envoy-proxy-http-access-logs (Envoy's default format behind Ambassador's ACCESS prefix)",
		line:   `ACCESS [2019-08-22T09:14:59.506Z] "GET /callback/.ambassador-internal/openapi-docs HTTP/1.1" 503 UH 0 19 3 - "10.52.2.21" "Go-http-client/1.1" "c8d23a4b-c203-468a-abfb-ef47aca58e23" "ambassador" "-"`,
		want: Entry{Time: time.Date(2019, 8, 22, 9, 14, 59, 506e6, time.UTC), Method: "GET", Path: "/callback/.ambassador-internal/openapi-docs",
			Protocol: "HTTP/1.1", Status: 503, Flags: []string{"UH"}, BytesSent: 19, Duration: 3 * time.Millisecond, ForwardedFor: "10.52.2.21",
			UserAgent: "Go-http-client/1.1", RequestID: "c8d23a4b-c203-468a-abfb-ef47aca58e23", Authority: "ambassador", Format: "envoy"},
	},
	{
		source: "shardul.dev/understanding-istio-access-logs (Istio with accessLogEncoding: JSON; numbers and nulls as Envoy writes them)",
		line:   `{"response_code_details":"via_upstream","downstream_remote_address":"","downstream_local_address":"","request_id":"e2873f51-0a42-4da4-a8e8-f711b46dea5c","authority":"nginx","requested_server_name":"outbound_.80_._.nginx.default.svc.cluster.local","upstream_cluster":"inbound|80||","path":"/","bytes_sent":37,"user_agent":"curl/7.35.0","method":"GET","upstream_local_address":"","x_forwarded_for":null,"start_time":"2022-10-23T22:15:39.663Z","response_code":200,"upstream_transport_failure_reason":null,"duration":0,"upstream_service_time":"0","response_flags":"-","upstream_host":"","route_name":"default","bytes_received":0,"protocol":"HTTP/1.1","connection_termination_details":null}`,
		want: Entry{Time: time.Date(2022, 10, 23, 22, 15, 39, 663e6, time.UTC), Method: "GET", Path: "/", Protocol: "HTTP/1.1", Status: 200,
			Details: "via_upstream", BytesSent: 37, UpstreamTime: "0", UserAgent: "curl/7.35.0", RequestID: "e2873f51-0a42-4da4-a8e8-f711b46dea5c",
			Authority: "nginx", UpstreamCluster: "inbound|80||", ServerName: "outbound_.80_._.nginx.default.svc.cluster.local", Route: "default", Format: "json"},
	},
}

func TestParsesRealLines(t *testing.T) {
	p, _ := NewParser("")
	for _, s := range samples {
		got, ok := p.Parse(s.line)
		if !ok {
			t.Errorf("%s: not read as an access log", s.source)
			continue
		}
		got.Line = ""
		if !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", s.source, got, s.want)
		}
	}
}

// TCP connections log through the same format with "-" for the request.
func TestTCPLines(t *testing.T) {
	p, _ := NewParser("")
	// A TCP connection refused upstream, as Istio's format writes it (the
	// request part "- - -", code 0, a UF flag and the connect failure).
	line := `[2023-03-01T10:00:00.000Z] "- - -" 0 UF,URX - - "delayed_connect_error:_111" 0 0 1001 - "-" "-" "-" "-" "10.1.2.3:3306" outbound|3306||mysql.db.svc.cluster.local - 10.96.0.20:3306 10.1.9.9:51234 - -`
	e, ok := p.Parse(line)
	if !ok {
		t.Fatal("TCP line not read")
	}
	if !e.TCP() || !e.Failed() || strings.Join(e.Flags, ",") != "UF,URX" || e.TransportFailure != "delayed_connect_error:_111" || e.UpstreamCluster != "outbound|3306||mysql.db.svc.cluster.local" {
		t.Errorf("TCP line read as %+v", e)
	}
}

func TestSkipsWhatIsNotAnAccessLog(t *testing.T) {
	p, _ := NewParser("")
	for _, line := range []string{
		"",
		`2024-05-01T12:00:00.000000Z	info	Envoy proxy is ready`,
		`[2024-05-01 12:00:00.000][15][warning][config] [source/common/config/grpc_stream.h:201] StreamAggregatedResources gRPC config stream to xds-grpc closed since 32s ago: 14, connection error`,
		`{"level":"info","time":"2024-05-01T12:00:00Z","msg":"cds updated"}`,
		`[2020-11-25T21:26:18.409Z] "GET /x HTTP/1.1" notanumber - via_upstream`,
		`{not json`,
	} {
		if e, ok := p.Parse(line); ok {
			t.Errorf("%q read as an access log: %+v", line, e)
		}
	}
}

func TestCustomFormat(t *testing.T) {
	p, err := NewParser(`%START_TIME% %REQ(:AUTHORITY)% "%REQ(:PATH)%" %RESPONSE_CODE% %RESPONSE_FLAGS_LONG% %DURATION% %UPSTREAM_CLUSTER%` + "\n")
	if err != nil {
		t.Fatal(err)
	}
	e, ok := p.Parse(`2025-01-02T03:04:05.006Z reviews:9080 "/r/1?x=a b" 503 NoHealthyUpstream,UpstreamRetryLimitExceeded 12 outbound|9080||reviews.default.svc.cluster.local`)
	if !ok || e.Authority != "reviews:9080" || e.Path != "/r/1?x=a b" || strings.Join(e.Flags, ",") != "UH,URX" || e.Duration != 12*time.Millisecond || e.Format != "custom" {
		t.Errorf("custom format read as %+v (%v)", e, ok)
	}
	for _, bad := range []string{"%START_TIME", "%A%%B%", "% %"} {
		if _, err := NewParser(bad); err == nil {
			t.Errorf("format %q accepted", bad)
		}
	}
}

// TestFlagTableIsEnvoys checks the flag table against Envoy's API: every
// flag of envoy.data.accesslog.v3.ResponseFlags (go-control-plane's copy of
// Envoy's protos) has an entry, and the list is all there.
func TestFlagTableIsEnvoys(t *testing.T) {
	// Field names of the proto that differ from the long names.
	protoNames := map[string]string{
		"failed_local_healthcheck": "FailedLocalHealthCheck", "unauthorized_details": "UnauthorizedExternalService",
		"overload_manager": "OverloadManagerTerminated", "dns_resolution_failure": "DnsResolutionFailed",
		"downstream_connection_termination": "DownstreamConnectionTermination", "delay_injected": "DelayInjected",
		"rate_limited": "RateLimited", "upstream_retry_limit_exceeded": "UpstreamRetryLimitExceeded",
		"downstream_remote_reset": "DownstreamRemoteReset", "unconditional_drop_overload": "UnconditionalDropOverload",
		"drop_overload": "DropOverload",
	}
	fields := (&alsdata.ResponseFlags{}).ProtoReflect().Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Kind() != protoreflect.BoolKind && f.Name() != "unauthorized_details" {
			continue
		}
		long, ok := protoNames[string(f.Name())]
		if !ok {
			long = camel(string(f.Name()))
		}
		if _, ok := LookupFlag(long); !ok {
			t.Errorf("Envoy's ResponseFlags.%s (%s) is not in the table", f.Name(), long)
		}
	}
	for _, short := range strings.Fields("UH UF UO NR URX NC DT DC LH UT LR UR UC DI FI RL UAEX RLSE IH SI DPE UPE UMSDR RFCF NFCF OM DF DO DR UDO") {
		f, ok := LookupFlag(short)
		if !ok || f.Meaning == "" || f.Check == "" {
			t.Errorf("flag %s: %+v", short, f)
		}
	}
	if len(Flags) != 30 {
		t.Errorf("%d flags, Envoy has 30", len(Flags))
	}
}

func camel(s string) string {
	var b strings.Builder
	for _, w := range strings.Split(s, "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

func TestJSONOutputInMilliseconds(t *testing.T) {
	b, err := json.Marshal(Entry{Status: 200, Duration: 1500 * time.Millisecond, Format: "istio"})
	if err != nil || !strings.Contains(string(b), `"duration_ms":1500`) || strings.Count(string(b), "duration_ms") != 1 {
		t.Errorf("%s %v", b, err)
	}
}

// FuzzParse: no input line makes the parser panic, and whatever it
// accepts has a sane status.
func FuzzParse(f *testing.F) {
	for _, s := range samples {
		f.Add(s.line)
	}
	f.Add(`[2023-03-01T10:00:00.000Z] "- - -" 0 UF - - "-" 0 0 1 - "-" "-" "-" "-" "-" - - - - - -`)
	p, _ := NewParser("")
	f.Fuzz(func(t *testing.T, line string) {
		e, ok := p.Parse(line)
		if ok && (e.Status < 0 || e.Status > 999) {
			t.Errorf("status %d from %q", e.Status, line)
		}
	})
}
