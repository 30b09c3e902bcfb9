package xds

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// fastMatch is a shortcut, never a second opinion: wherever it answers,
// protojson gives the same RouteMatch. Checked on every route of every
// fixture dump, the other generator's varied routes, and matches written
// in the forms the shortcut must refuse.
func TestFastMatchAgreesWithProtojson(t *testing.T) {
	var matches []jsonscan.Value
	collect := func(data []byte) {
		dumps, err := envoyadmin.Load(data)
		if err != nil {
			return
		}
		for _, d := range dumps {
			for _, rc := range New(d).RouteConfigs() {
				for _, vh := range rc.VirtualHosts {
					for _, r := range vh.Routes {
						if m := r.Raw.Get("match"); m.Present() {
							matches = append(matches, m)
						}
					}
				}
			}
		}
	}
	_ = filepath.Walk("../../../shared/fixtures", func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".yaml")) {
			if data, err := os.ReadFile(path); err == nil {
				collect(data)
			}
		}
		return nil
	})
	var varied bytes.Buffer
	if err := dumpgen.WriteVaried(&varied, dumpgen.Options{Services: 400}); err != nil {
		t.Fatal(err)
	}
	collect(varied.Bytes())
	for _, s := range []string{
		`{"prefix":"/a","prefix":"/b"}`, `{"prefix":"/a","path":"/b"}`, `{"prefix":null}`, `{"prefix":3}`,
		`{"safeRegex":{"regex":"/x.*"},"caseSensitive":false}`, `{"safe_regex":{"regex":"x","google_re2":{}}}`,
		`{"path":"/p","headers":[{"name":"a","exact_match":"b"}]}`, `{"prefix":"/","headers":[{"name":"a","stringMatch":{"exact":"b","prefix":"c"}}]}`,
		`{"prefix":"/","headers":[{"name":"a","presentMatch":true,"invertMatch":true}]}`, `{"prefix":"/","grpc":{}}`,
		`{"prefix":"/","queryParameters":[{"name":"q","stringMatch":{"suffix":"s","ignoreCase":true}}]}`,
		`{"prefix":"/","query_parameters":[{"name":"q","present_match":true,"present_match":false}]}`,
		`{"prefix":"/\u00e9t\u00e9","headers":[{"name":"x","string_match":{"contains":"\"q\""}}]}`,
	} {
		v, err := jsonscan.Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		matches = append(matches, v)
	}
	answered := 0
	for _, v := range matches {
		fast, ok := fastMatch(v)
		if !ok {
			continue
		}
		answered++
		var slow routev3.RouteMatch
		err := decodeInto(v, &slow)
		if err != nil || !proto.Equal(fast, &slow) {
			t.Errorf("%s: shortcut %v, protojson %v (%v)", v.Raw(), fast, &slow, err)
		}
	}
	if answered < len(matches)/2 {
		t.Errorf("the shortcut answered %d of %d matches", answered, len(matches))
	}
	t.Logf("%d matches, %d by the shortcut", len(matches), answered)
}
