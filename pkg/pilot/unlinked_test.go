package pilot

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// TestUnlinkedExtensionsRenderWhole: an extension this build does not link
// (Lua; its Go type is not in this test binary, as it is not in the
// plugin) is rendered from the embedded descriptors, fields and all, not
// as Undecoded bytes.
func TestUnlinkedExtensionsRenderWhole(t *testing.T) {
	const url = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
	if _, err := protoregistry.GlobalTypes.FindMessageByURL(url); err == nil {
		t.Fatal("this test binary links the Lua filter's Go type: the test would not test the embedded descriptors")
	}
	mt, err := xds.Resolver.FindMessageByURL(url)
	if err != nil || mt.Descriptor().FullName() != "envoy.extensions.filters.http.lua.v3.Lua" {
		t.Fatalf("Lua resolved to %v (%v)", mt, err)
	}
	lua := mt.New()
	if err := protojson.Unmarshal([]byte(`{"default_source_code":{"inline_string":"function envoy_on_request(h) end"}}`), lua.Interface()); err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(lua.Interface())
	if err != nil {
		t.Fatal(err)
	}
	resp := &anypb.Any{TypeUrl: url, Value: b}
	xds.PreserveUndecoded(resp)
	out, err := protojson.MarshalOptions{Resolver: xds.DumpResolver, UseProtoNames: true}.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "envoy_on_request") || strings.Contains(string(out), "Undecoded") {
		t.Errorf("rendered %s; want the Lua filter's fields", out)
	}
}
