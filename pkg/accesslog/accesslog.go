// Package accesslog reads Envoy access log lines: Istio's default text
// format, Envoy's default format, JSON access logs and any custom Envoy
// format string, and decodes the response flags with what they mean.
// Lines that are not access logs (Envoy's own log) are skipped.
package accesslog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The formats tried, in order, when none is given.
const (
	// IstioFormat is the text format of Istio's sidecars and gateways
	// (meshConfig.accessLogFile with the default accessLogFormat).
	IstioFormat = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%`
	// istioFormat15 is Istio's format from 1.5 to 1.8, without the
	// response code and connection termination details.
	istioFormat15 = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%DYNAMIC_METADATA(istio.mixer:status)%" "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%`
	// EnvoyFormat is Envoy's default access log format.
	EnvoyFormat = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`
)

// Entry is one access log line, read.
type Entry struct {
	Time     time.Time `json:"time,omitzero"`
	Method   string    `json:"method,omitempty"`
	Path     string    `json:"path,omitempty"`
	Protocol string    `json:"protocol,omitempty"`
	// Status is the response code; 0 for TCP, or when no response was sent.
	Status int      `json:"status"`
	Flags  []string `json:"flags,omitempty"` // short names
	// Details are %RESPONSE_CODE_DETAILS%: why Envoy answered as it did.
	Details            string `json:"details,omitempty"`
	TerminationDetails string `json:"termination_details,omitempty"`
	// TransportFailure is %UPSTREAM_TRANSPORT_FAILURE_REASON%, e.g. a TLS error.
	TransportFailure string        `json:"upstream_transport_failure,omitempty"`
	BytesReceived    int64         `json:"bytes_received"`
	BytesSent        int64         `json:"bytes_sent"`
	Duration         time.Duration `json:"duration_ms"`
	UpstreamTime     string        `json:"upstream_service_time,omitempty"`
	ForwardedFor     string        `json:"x_forwarded_for,omitempty"`
	UserAgent        string        `json:"user_agent,omitempty"`
	RequestID        string        `json:"request_id,omitempty"`
	Authority        string        `json:"authority,omitempty"`
	UpstreamHost     string        `json:"upstream_host,omitempty"`
	UpstreamCluster  string        `json:"upstream_cluster,omitempty"`
	UpstreamLocal    string        `json:"upstream_local_address,omitempty"`
	DownstreamLocal  string        `json:"downstream_local_address,omitempty"`
	DownstreamRemote string        `json:"downstream_remote_address,omitempty"`
	ServerName       string        `json:"requested_server_name,omitempty"`
	Route            string        `json:"route_name,omitempty"`
	// Format names the format the line matched: istio, envoy, json, custom.
	Format string `json:"format"`
	// Line is the line as logged.
	Line string `json:"-"`
}

// MarshalJSON writes the duration in milliseconds, as Envoy logs it.
func (e Entry) MarshalJSON() ([]byte, error) {
	type plain Entry
	return json.Marshal(struct {
		plain
		Duration int64 `json:"duration_ms"`
	}{plain(e), e.Duration.Milliseconds()})
}

// TCP tells whether the line is a connection rather than a request.
func (e *Entry) TCP() bool { return e.Method == "" && e.Status == 0 }

// Failed tells whether the request failed: a 5xx, or any response flag
// other than those that only describe the request.
func (e *Entry) Failed() bool {
	if e.Status >= 500 {
		return true
	}
	for _, f := range e.Flags {
		switch f {
		case "DI", "RFCF":
		default:
			return true
		}
	}
	return false
}

// Parser reads lines in one format, or, without one, in whichever known
// format each line is in.
type Parser struct {
	formats []*Format
}

// NewParser returns a parser for a custom Envoy format string, or for the
// known formats (Istio's, Envoy's, JSON) when format is "".
func NewParser(format string) (*Parser, error) {
	if format == "" {
		return &Parser{formats: []*Format{istio, istio15, envoy}}, nil
	}
	f, err := Compile("custom", format)
	if err != nil {
		return nil, err
	}
	return &Parser{formats: []*Format{f}}, nil
}

var (
	istio   = mustCompile("istio", IstioFormat)
	istio15 = mustCompile("istio", istioFormat15)
	envoy   = mustCompile("envoy", EnvoyFormat)
)

// Parse reads one line; ok is false for lines that are not access logs.
func (p *Parser) Parse(line string) (e Entry, ok bool) {
	line = strings.TrimRight(line, "\r\n")
	trimmed := strings.TrimSpace(line)
	if strings.HasPrefix(trimmed, "{") {
		e, ok = parseJSON(trimmed)
		e.Line = line
		return e, ok
	}
	for _, f := range p.formats {
		if fields, ok := f.Match(trimmed); ok {
			if e, ok := fromFields(fields, f.Name); ok {
				e.Line = line
				return e, true
			}
		}
	}
	return Entry{}, false
}

// fromFields builds an entry from command operator values; ok is false when
// the values are not those of an access log (a line that merely fits).
func fromFields(fields map[string]string, format string) (Entry, bool) {
	e := Entry{Format: format}
	get := func(op string) string {
		v := fields[op]
		if v == "-" {
			return ""
		}
		return v
	}
	if v, ok := fields["START_TIME"]; ok {
		t, err := parseTime(v)
		if err != nil {
			return e, false
		}
		e.Time = t
	}
	if v, ok := fields["RESPONSE_CODE"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 999 {
			return e, false
		}
		e.Status = n
	}
	e.Method = get("REQ(:METHOD)")
	e.Path = get("REQ(X-ENVOY-ORIGINAL-PATH?:PATH)")
	if e.Path == "" {
		e.Path = get("REQ(:PATH)")
	}
	e.Protocol = get("PROTOCOL")
	e.Flags = ParseFlags(fields["RESPONSE_FLAGS"])
	if len(e.Flags) == 0 {
		e.Flags = ParseFlags(fields["RESPONSE_FLAGS_LONG"])
	}
	e.Details = get("RESPONSE_CODE_DETAILS")
	e.TerminationDetails = get("CONNECTION_TERMINATION_DETAILS")
	e.TransportFailure = get("UPSTREAM_TRANSPORT_FAILURE_REASON")
	e.BytesReceived = number(get("BYTES_RECEIVED"))
	e.BytesSent = number(get("BYTES_SENT"))
	e.Duration = time.Duration(number(get("DURATION"))) * time.Millisecond
	e.UpstreamTime = get("RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)")
	e.ForwardedFor = get("REQ(X-FORWARDED-FOR)")
	e.UserAgent = get("REQ(USER-AGENT)")
	e.RequestID = get("REQ(X-REQUEST-ID)")
	e.Authority = get("REQ(:AUTHORITY)")
	e.UpstreamHost = get("UPSTREAM_HOST")
	e.UpstreamCluster = get("UPSTREAM_CLUSTER_RAW")
	if e.UpstreamCluster == "" {
		e.UpstreamCluster = get("UPSTREAM_CLUSTER")
	}
	e.UpstreamLocal = get("UPSTREAM_LOCAL_ADDRESS")
	e.DownstreamLocal = get("DOWNSTREAM_LOCAL_ADDRESS")
	e.DownstreamRemote = get("DOWNSTREAM_REMOTE_ADDRESS")
	e.ServerName = get("REQUESTED_SERVER_NAME")
	e.Route = get("ROUTE_NAME")
	return e, true
}

// jsonKeys maps the keys of JSON access logs (Istio's JSON encoding, and
// the usual names of custom ones) to command operators.
var jsonKeys = map[string]string{
	"start_time": "START_TIME", "method": "REQ(:METHOD)", "path": "REQ(X-ENVOY-ORIGINAL-PATH?:PATH)",
	"protocol": "PROTOCOL", "response_code": "RESPONSE_CODE", "response_flags": "RESPONSE_FLAGS",
	"response_code_details": "RESPONSE_CODE_DETAILS", "connection_termination_details": "CONNECTION_TERMINATION_DETAILS",
	"upstream_transport_failure_reason": "UPSTREAM_TRANSPORT_FAILURE_REASON", "bytes_received": "BYTES_RECEIVED",
	"bytes_sent": "BYTES_SENT", "duration": "DURATION", "upstream_service_time": "RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)",
	"x_forwarded_for": "REQ(X-FORWARDED-FOR)", "user_agent": "REQ(USER-AGENT)", "request_id": "REQ(X-REQUEST-ID)",
	"authority": "REQ(:AUTHORITY)", "upstream_host": "UPSTREAM_HOST", "upstream_cluster": "UPSTREAM_CLUSTER",
	"upstream_local_address": "UPSTREAM_LOCAL_ADDRESS", "downstream_local_address": "DOWNSTREAM_LOCAL_ADDRESS",
	"downstream_remote_address": "DOWNSTREAM_REMOTE_ADDRESS", "requested_server_name": "REQUESTED_SERVER_NAME",
	"route_name": "ROUTE_NAME",
}

func parseJSON(line string) (Entry, bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return Entry{}, false
	}
	fields := map[string]string{}
	for k, v := range m {
		op, ok := jsonKeys[strings.ToLower(k)]
		if !ok {
			continue
		}
		switch v := v.(type) {
		case string:
			fields[op] = v
		case float64:
			fields[op] = strconv.FormatFloat(v, 'f', -1, 64)
		case nil:
			fields[op] = "-"
		}
	}
	// An access log has at least a code or flags and a time or duration;
	// other JSON lines (Envoy's own, in JSON) are not access logs.
	_, code := fields["RESPONSE_CODE"]
	_, flags := fields["RESPONSE_FLAGS"]
	_, start := fields["START_TIME"]
	_, dur := fields["DURATION"]
	if !(code || flags) || !(start || dur) {
		return Entry{}, false
	}
	return fromFields(fields, "json")
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a start time: %q", s)
}

func number(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
