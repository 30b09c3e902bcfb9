package xds

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	_ "github.com/kubectl-mesh/kubectl-mesh/internal/envoytypes" // the Go types, to compare with
)

// TestEmbeddedDescriptorsAreCurrent: envoytypes.binpb is what
// hack/envoytypes writes with the go-control-plane this module requires
// (after an upgrade: go generate ./pkg/xds).
func TestEmbeddedDescriptorsAreCurrent(t *testing.T) {
	cmd := exec.Command("go", "run", "./hack/envoytypes")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run ./hack/envoytypes: %v: %s", err, stderr.String())
	}
	if !bytes.Equal(out, envoyTypesSet) {
		t.Fatalf("pkg/xds/envoytypes.binpb (%d bytes) is not what hack/envoytypes writes now (%d bytes): run go generate ./pkg/xds", len(envoyTypesSet), len(out))
	}
}

// TestEmbeddedTypesReadAsTheGoTypes: every typed config of a type the
// embedded descriptors know, in every fixture and sample dump, reads and
// writes (protojson) the same through the types made from the descriptors
// alone as through go-control-plane's Go types.
func TestEmbeddedTypesReadAsTheGoTypes(t *testing.T) {
	dynamic := embeddedTypes(func(protoreflect.FullName) bool { return false })
	roots := []string{"../../../shared/fixtures", "..", "../../examples"}
	types := map[string]int{}
	compared := 0
	for _, root := range roots {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			var doc any
			if json.Unmarshal(b, &doc) != nil {
				return nil
			}
			walkTyped(doc, func(obj map[string]any) {
				url, _ := obj["@type"].(string)
				if _, err := dynamic.FindMessageByURL(url); err != nil {
					return
				}
				raw, _ := json.Marshal(obj)
				goJSON, goErr := anyRoundTrip(raw, protoregistry.GlobalTypes)
				dynJSON, dynErr := anyRoundTrip(raw, dynamic)
				if (goErr == nil) != (dynErr == nil) {
					t.Errorf("%s: %s: Go types: %v; embedded descriptors: %v", path, url, goErr, dynErr)
					return
				}
				if goErr != nil {
					return // a type neither knows inside (Istio's own)
				}
				var g, d any
				_ = json.Unmarshal(goJSON, &g)
				_ = json.Unmarshal(dynJSON, &d)
				if !reflect.DeepEqual(g, d) {
					t.Errorf("%s: %s:\nGo types:    %s\ndescriptors: %s", path, url, goJSON, dynJSON)
				}
				types[url]++
				compared++
			})
			return nil
		})
	}
	t.Logf("compared %d typed configs of %d types", compared, len(types))
	if len(types) < 20 || compared < 200 {
		t.Fatalf("compared %d typed configs of %d types: too few to say the descriptors read as the Go types", compared, len(types))
	}
}

func anyRoundTrip(raw []byte, r interface {
	protoregistry.MessageTypeResolver
	protoregistry.ExtensionTypeResolver
}) ([]byte, error) {
	a := &anypb.Any{}
	if err := (protojson.UnmarshalOptions{Resolver: r}).Unmarshal(raw, a); err != nil {
		return nil, err
	}
	return protojson.MarshalOptions{Resolver: r, UseProtoNames: true}.Marshal(a)
}

// walkTyped calls fn for each object with an "@type", outermost first.
func walkTyped(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["@type"].(string); ok {
			fn(x)
		}
		for _, c := range x {
			walkTyped(c, fn)
		}
	case []any:
		for _, c := range x {
			walkTyped(c, fn)
		}
	}
}
