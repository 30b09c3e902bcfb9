package xds

import (
	"strings"
	"testing"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
)

// TestUndecodedKeepsItsBytes: an Any of a type this build does not link,
// at any depth (here inside a connection manager inside a listener), is
// written with its type and bytes, not as an empty message.
func TestUndecodedKeepsItsBytes(t *testing.T) {
	istio := &anypb.Any{TypeUrl: "type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig", Value: []byte{0x0a, 0x02, 0x68, 0x32}}
	hcm := &hcmv3.HttpConnectionManager{StatPrefix: "x", HttpFilters: []*hcmv3.HttpFilter{{Name: "istio.alpn", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: istio}}}}
	hcmAny, _ := anypb.New(hcm)
	l := &listenerv3.Listener{Name: "l", FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{Name: "hcm", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcmAny}}}}}}
	outer, _ := anypb.New(l)
	PreserveUndecoded(outer)
	b, err := protojson.MarshalOptions{Resolver: DumpResolver, UseProtoNames: true}.Marshal(outer)
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, want := range []string{UndecodedTypeURL, "istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig", `"value":"CgJoMg=="`} {
		if !strings.Contains(strings.ReplaceAll(js, " ", ""), want) {
			t.Errorf("written without %s:\n%s", want, js)
		}
	}
}
