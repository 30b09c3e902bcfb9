package routecheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	_ "github.com/envoyproxy/go-control-plane/envoy/config/core/v3" // registers base.proto (HeaderValue)
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/set_metadata/v3" // registers Metadata
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	_ "google.golang.org/protobuf/types/known/durationpb" // registers duration.proto
	_ "google.golang.org/protobuf/types/known/structpb"   // registers struct.proto
	_ "google.golang.org/protobuf/types/known/wrapperspb" // registers wrappers.proto
	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// The test file is read as Envoy's router_check_tool reads it: into the
// messages of its validation.proto (envoyproxy/envoy
// test/tools/router_check/validation.proto), built here from the same
// fields with Envoy's own message types (go-control-plane's) for headers,
// header matchers and metadata. A field the schema does not have is an
// error naming it, as it is for Envoy's tool; nothing is skipped.
//
// The schema as of the newest upstream version:
//
//	Validation       { repeated ValidationItem tests = 1; Struct runtime = 2 }
//	ValidationItem   { string test_name = 1; ValidationInput input = 2; ValidationAssert validate = 3 }
//	ValidationInput  { string authority = 1; string path = 2; string method = 4; uint64 random_value = 5;
//	                   bool ssl = 6; bool internal = 7; reserved 8; string runtime = 9;
//	                   repeated core.v3.HeaderValue additional_request_headers = 10, additional_response_headers = 11;
//	                   repeated set_metadata.v3.Metadata dynamic_metadata = 12 }
//	ValidationAssert { StringValue cluster_name = 1, virtual_cluster_name = 2, virtual_host_name = 3,
//	                   host_rewrite = 4, path_rewrite = 5, path_redirect = 6; reserved 7, 8;
//	                   repeated core.v3.HeaderValue request_header_fields = 9, response_header_fields = 10 (deprecated);
//	                   repeated route.v3.HeaderMatcher request_header_matches = 11, response_header_matches = 12;
//	                   UInt32Value code_redirect = 13; Duration timeout = 14 }
//
// The runtime of Validation (runtime overrides such as
// re2.max_program_size.error_level) changes nothing here: Go's regexp has no
// program size limit, which is what the override asks for.

var schema struct {
	once       sync.Once
	validation protoreflect.MessageType
	err        error
}

func validationType() (protoreflect.MessageType, error) {
	schema.once.Do(func() {
		fd, err := protodesc.NewFile(schemaFile(), protoregistry.GlobalFiles)
		if err != nil {
			schema.err = fmt.Errorf("router_check schema: %w", err)
			return
		}
		schema.validation = dynamicpb.NewMessageType(fd.Messages().ByName("Validation"))
	})
	return schema.validation, schema.err
}

func schemaFile() *descriptorpb.FileDescriptorProto {
	type T = descriptorpb.FieldDescriptorProto_Type
	const (
		str = descriptorpb.FieldDescriptorProto_TYPE_STRING
		u64 = descriptorpb.FieldDescriptorProto_TYPE_UINT64
		bl  = descriptorpb.FieldDescriptorProto_TYPE_BOOL
		msg = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	)
	field := func(name string, num int32, typ T, typeName string, repeated bool) *descriptorpb.FieldDescriptorProto {
		label := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		if repeated {
			label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		}
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(), Label: label.Enum()}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	one := func(name string, num int32, typeName string) *descriptorpb.FieldDescriptorProto {
		return field(name, num, msg, typeName, false)
	}
	many := func(name string, num int32, typeName string) *descriptorpb.FieldDescriptorProto {
		return field(name, num, msg, typeName, true)
	}
	reserved := func(nums ...int32) []*descriptorpb.DescriptorProto_ReservedRange {
		var out []*descriptorpb.DescriptorProto_ReservedRange
		for _, n := range nums {
			out = append(out, &descriptorpb.DescriptorProto_ReservedRange{Start: proto.Int32(n), End: proto.Int32(n + 1)})
		}
		return out
	}
	const (
		strValue    = ".google.protobuf.StringValue"
		headerValue = ".envoy.config.core.v3.HeaderValue"
	)
	return &descriptorpb.FileDescriptorProto{
		Name:    proto.String("kubectl-mesh/router_check/validation.proto"),
		Package: proto.String("envoy.RouterCheckToolSchema"),
		Syntax:  proto.String("proto3"),
		Dependency: []string{
			"envoy/config/core/v3/base.proto",
			"envoy/config/route/v3/route_components.proto",
			"envoy/extensions/filters/http/set_metadata/v3/set_metadata.proto",
			"google/protobuf/duration.proto",
			"google/protobuf/struct.proto",
			"google/protobuf/wrappers.proto",
		},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Validation"), Field: []*descriptorpb.FieldDescriptorProto{
				many("tests", 1, ".envoy.RouterCheckToolSchema.ValidationItem"),
				one("runtime", 2, ".google.protobuf.Struct"),
			}},
			{Name: proto.String("ValidationItem"), Field: []*descriptorpb.FieldDescriptorProto{
				field("test_name", 1, str, "", false),
				one("input", 2, ".envoy.RouterCheckToolSchema.ValidationInput"),
				one("validate", 3, ".envoy.RouterCheckToolSchema.ValidationAssert"),
			}},
			{Name: proto.String("ValidationInput"), ReservedRange: reserved(8), Field: []*descriptorpb.FieldDescriptorProto{
				field("authority", 1, str, "", false),
				field("path", 2, str, "", false),
				field("method", 4, str, "", false),
				field("random_value", 5, u64, "", false),
				field("ssl", 6, bl, "", false),
				field("internal", 7, bl, "", false),
				field("runtime", 9, str, "", false),
				many("additional_request_headers", 10, headerValue),
				many("additional_response_headers", 11, headerValue),
				many("dynamic_metadata", 12, ".envoy.extensions.filters.http.set_metadata.v3.Metadata"),
			}},
			{Name: proto.String("ValidationAssert"), ReservedRange: reserved(7, 8), Field: []*descriptorpb.FieldDescriptorProto{
				one("cluster_name", 1, strValue),
				one("virtual_cluster_name", 2, strValue),
				one("virtual_host_name", 3, strValue),
				one("host_rewrite", 4, strValue),
				one("path_rewrite", 5, strValue),
				one("path_redirect", 6, strValue),
				many("request_header_fields", 9, headerValue),
				many("response_header_fields", 10, headerValue),
				many("request_header_matches", 11, ".envoy.config.route.v3.HeaderMatcher"),
				many("response_header_matches", 12, ".envoy.config.route.v3.HeaderMatcher"),
				one("code_redirect", 13, ".google.protobuf.UInt32Value"),
				one("timeout", 14, ".google.protobuf.Duration"),
			}},
		},
	}
}

// Suite is a test file.
type Suite struct {
	Tests []Test
}

// Test is one test case.
type Test struct {
	Name     string
	Input    Input
	Validate Validate
}

// Input is the request.
type Input struct {
	Authority, Path, Method string
	RandomValue             uint64
	SSL, Internal           bool
	// Runtime is the one runtime key the test enables: a route behind a
	// runtime fraction matches only when its key is this one (and the random
	// value falls within the fraction), as router_check_tool's runtime does.
	Runtime                         string
	RequestHeaders, ResponseHeaders []HeaderValue
	DynamicMetadata                 []Metadata
}

// HeaderValue is a header of the input, or a deprecated header assertion.
type HeaderValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metadata is dynamic metadata the input sets (the set_metadata filter's
// Metadata): a namespace and its values.
type Metadata struct {
	Namespace      string         `json:"metadata_namespace"`
	AllowOverwrite bool           `json:"allow_overwrite"`
	Value          map[string]any `json:"value"`
}

// Validate is what the route must give: a nil field is not checked, an
// empty string expects "nothing" (no cluster, no redirect, ...).
type Validate struct {
	ClusterName, VirtualClusterName, VirtualHostName *string
	HostRewrite, PathRewrite, PathRedirect           *string
	CodeRedirect                                     *uint32
	Timeout                                          *time.Duration
	// Deprecated header assertions Envoy still evaluates: the header's first
	// value must equal Value.
	RequestHeaderFields, ResponseHeaderFields   []HeaderValue
	RequestHeaderMatches, ResponseHeaderMatches []*routev3.HeaderMatcher
}

// empty tells whether the assertion checks nothing at all.
func (v Validate) empty() bool {
	return v.ClusterName == nil && v.VirtualClusterName == nil && v.VirtualHostName == nil && v.HostRewrite == nil &&
		v.PathRewrite == nil && v.PathRedirect == nil && v.CodeRedirect == nil && v.Timeout == nil &&
		len(v.RequestHeaderFields)+len(v.ResponseHeaderFields)+len(v.RequestHeaderMatches)+len(v.ResponseHeaderMatches) == 0
}

// textproto tells protobuf text ("tests {", "tests: {") from JSON and YAML.
var textproto = regexp.MustCompile(`^(\s*#[^\n]*\n)*\s*[A-Za-z_]\w*\s*(\{|:\s*\{)`)

// Parse reads a test file: JSON (Envoy's reader allows trailing commas),
// YAML, or protobuf text, strictly against the schema.
func Parse(data []byte) (*Suite, error) {
	typ, err := validationType()
	if err != nil {
		return nil, err
	}
	m := typ.New().Interface()
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, errors.New("the test file is empty")
	case trimmed[0] == '{':
		if _, err := jsonscan.Parse(trimmed); err != nil {
			return nil, fmt.Errorf("the test file is not valid JSON: %v", err)
		}
		err = protojson.Unmarshal(dropTrailingCommas(trimmed), m)
	case textproto.Match(trimmed):
		err = prototext.Unmarshal(trimmed, m)
	default:
		js, yerr := yaml.YAMLToJSON(data)
		if yerr != nil {
			return nil, fmt.Errorf("the test file is neither JSON, YAML nor protobuf text: %v", yerr)
		}
		if !bytes.HasPrefix(bytes.TrimSpace(js), []byte("{")) {
			return nil, errors.New(`the test file is not a router_check test file ({"tests": [{"test_name", "input", "validate"}]})`)
		}
		err = protojson.Unmarshal(js, m)
	}
	if err != nil {
		return nil, fmt.Errorf("the test file does not follow router_check's schema (envoy.RouterCheckToolSchema.Validation): %s", schemaError(err))
	}
	return suiteOf(m)
}

// schemaError words a protobuf decoding error without its "proto:" prefix
// and its (random) internal spacing.
func schemaError(err error) string {
	s := strings.TrimPrefix(err.Error(), "proto:")
	return strings.Join(strings.Fields(s), " ")
}

// suiteOf reads the checked message into the suite, applying the schema's
// validation rules (Envoy's tool validates them before running a test).
func suiteOf(m proto.Message) (*Suite, error) {
	js, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Tests []struct {
			Name  string `json:"test_name"`
			Input *struct {
				Authority       string        `json:"authority"`
				Path            string        `json:"path"`
				Method          string        `json:"method"`
				RandomValue     uint64        `json:"random_value,string"`
				SSL             bool          `json:"ssl"`
				Internal        bool          `json:"internal"`
				Runtime         string        `json:"runtime"`
				RequestHeaders  []HeaderValue `json:"additional_request_headers"`
				ResponseHeaders []HeaderValue `json:"additional_response_headers"`
				DynamicMetadata []Metadata    `json:"dynamic_metadata"`
			} `json:"input"`
			Validate *struct {
				ClusterName           *string           `json:"cluster_name"`
				VirtualClusterName    *string           `json:"virtual_cluster_name"`
				VirtualHostName       *string           `json:"virtual_host_name"`
				HostRewrite           *string           `json:"host_rewrite"`
				PathRewrite           *string           `json:"path_rewrite"`
				PathRedirect          *string           `json:"path_redirect"`
				CodeRedirect          *uint32           `json:"code_redirect"`
				Timeout               *string           `json:"timeout"`
				RequestHeaderFields   []HeaderValue     `json:"request_header_fields"`
				ResponseHeaderFields  []HeaderValue     `json:"response_header_fields"`
				RequestHeaderMatches  []json.RawMessage `json:"request_header_matches"`
				ResponseHeaderMatches []json.RawMessage `json:"response_header_matches"`
			} `json:"validate"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, err
	}
	if len(doc.Tests) == 0 {
		return nil, errors.New(`the test file has no tests (a router_check file is {"tests": [{"test_name", "input", "validate"}]})`)
	}
	s := &Suite{}
	for i, t := range doc.Tests {
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("test %d has no test_name", i+1)
		case t.Input == nil:
			return nil, fmt.Errorf("test %s has no input", t.Name)
		case t.Validate == nil:
			return nil, fmt.Errorf("test %s has no validate", t.Name)
		case t.Input.Authority == "" || t.Input.Path == "":
			return nil, fmt.Errorf("test %s: input needs authority and path", t.Name)
		case len(t.Input.Method) < 3:
			return nil, fmt.Errorf("test %s: input needs a method (at least 3 characters)", t.Name)
		}
		in, v := t.Input, t.Validate
		tc := Test{Name: t.Name, Input: Input{Authority: in.Authority, Path: in.Path, Method: in.Method, RandomValue: in.RandomValue,
			SSL: in.SSL, Internal: in.Internal, Runtime: in.Runtime, RequestHeaders: in.RequestHeaders,
			ResponseHeaders: in.ResponseHeaders, DynamicMetadata: in.DynamicMetadata},
			Validate: Validate{ClusterName: v.ClusterName, VirtualClusterName: v.VirtualClusterName, VirtualHostName: v.VirtualHostName,
				HostRewrite: v.HostRewrite, PathRewrite: v.PathRewrite, PathRedirect: v.PathRedirect, CodeRedirect: v.CodeRedirect,
				RequestHeaderFields: v.RequestHeaderFields, ResponseHeaderFields: v.ResponseHeaderFields}}
		if v.Timeout != nil {
			d, err := time.ParseDuration(*v.Timeout)
			if err != nil {
				return nil, fmt.Errorf("test %s: timeout %q: %v", t.Name, *v.Timeout, err)
			}
			tc.Validate.Timeout = &d
		}
		for _, list := range []struct {
			raw []json.RawMessage
			out *[]*routev3.HeaderMatcher
		}{{v.RequestHeaderMatches, &tc.Validate.RequestHeaderMatches}, {v.ResponseHeaderMatches, &tc.Validate.ResponseHeaderMatches}} {
			for _, raw := range list.raw {
				hm := &routev3.HeaderMatcher{}
				if err := protojson.Unmarshal(raw, hm); err != nil {
					return nil, fmt.Errorf("test %s: a header matcher: %s", t.Name, schemaError(err))
				}
				*list.out = append(*list.out, hm)
			}
		}
		s.Tests = append(s.Tests, tc)
	}
	return s, nil
}

// dropTrailingCommas removes commas before a closing bracket, outside
// strings, as Envoy's lenient JSON reader accepts them.
func dropTrailingCommas(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' && i+1 < len(b) {
				out = append(out, c, b[i+1])
				i++
				continue
			}
			if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ',':
			j := jsonscan.SkipSpace(b, i+1)
			if j < len(b) && (b[j] == '}' || b[j] == ']') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}
