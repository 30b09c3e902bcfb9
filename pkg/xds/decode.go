// Package xds is the model: one normalized view of a proxy's configuration
// (listeners, filter chains, route configurations, clusters, endpoints,
// secrets, bootstrap), built from the entries of a dump.
//
// Names, states and destinations are read straight from the dump's bytes;
// the messages whose meaning matters for matching (FilterChainMatch,
// RouteMatch) are decoded into go-control-plane's own types, so the listing
// commands and trace read them with Envoy's field semantics. Nothing else is
// decoded: a 100 MB dump is mostly parts a given view does not show.
package xds

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Resolver resolves the Any types this binary links and treats the others
// as empty messages, so a typed_config from Istio or a newer Envoy never
// fails a decode, and config carrying them still renders (their contents
// left out, as the dump loader keeps them opaque).
var Resolver interface {
	protoregistry.MessageTypeResolver
	protoregistry.ExtensionTypeResolver
} = lenientResolver{}

type lenientResolver struct{}

func (lenientResolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if mt, err := findType(url); err == nil {
		return mt, nil
	}
	return (&emptypb.Empty{}).ProtoReflect().Type(), nil
}

func (lenientResolver) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(name); err == nil {
		return mt, nil
	}
	return extraTypes().FindMessageByName(name)
}

func (lenientResolver) FindExtensionByName(name protoreflect.FullName) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByName(name)
}

func (lenientResolver) FindExtensionByNumber(m protoreflect.FullName, n protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByNumber(m, n)
}

var unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true, Resolver: lenientResolver{}}

// decodeInto decodes one small message of the dump into its Envoy type.
func decodeInto(v jsonscan.Value, m proto.Message) error {
	if !v.Exists() {
		return nil
	}
	if err := unmarshal.Unmarshal(v.Raw(), m); err != nil {
		return fmt.Errorf("decode %s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return nil
}

// Opaque counts the typed configs (filters, extensions) whose types are not
// Envoy API types this tool was built with: Istio's own filters, TypedStruct
// payloads, extensions newer than go-control-plane. They are shown by type
// name and otherwise left alone.
type Opaque struct {
	mu     sync.Mutex
	counts map[string]int
}

func (o *Opaque) note(typeURL string) {
	if o == nil || typeURL == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil {
		o.counts = map[string]int{}
	}
	o.counts[ShortType(typeURL)]++
}

// Total is the number of opaque configs seen.
func (o *Opaque) Total() int {
	n := 0
	for _, c := range o.counts {
		n += c
	}
	return n
}

// Summary is one line: "12 typed configs of 3 types not decoded: a (4), b (4), c (4)".
func (o *Opaque) Summary() string {
	if o == nil || len(o.counts) == 0 {
		return ""
	}
	types := make([]string, 0, len(o.counts))
	for t := range o.counts {
		types = append(types, t)
	}
	sort.Strings(types)
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = fmt.Sprintf("%s (%d)", t, o.counts[t])
	}
	return fmt.Sprintf("%d typed configs of %d types outside Envoy's API kept opaque: %s", o.Total(), len(types), strings.Join(parts, ", "))
}

// ShortType strips the "type.googleapis.com/" prefix of a type URL.
func ShortType(typeURL string) string {
	if i := strings.LastIndexByte(typeURL, '/'); i >= 0 {
		return typeURL[i+1:]
	}
	return typeURL
}

// typedConfig reads the type of an Any-valued typed_config, looking through
// the TypedStruct wrappers Istio uses for its own filters. It records types
// that are not Envoy API types in o.
func typedConfig(v jsonscan.Value, o *Opaque) string {
	typ := v.Get("@type").Str()
	switch ShortType(typ) {
	case "udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct", ShortType(UndecodedTypeURL):
		inner := v.Get("type_url").Str()
		if !known(inner) {
			o.note(inner)
		}
		return ShortType(inner)
	}
	if !known(typ) {
		o.note(typ)
	}
	return ShortType(typ)
}

// envoyAPIRoots are the top-level packages of Envoy's API (the api/envoy
// tree of data-plane-api): every message under them is Envoy's own. Istio
// and others publish types under other roots, and sometimes under "envoy."
// too (envoy.tcp.metadataexchange.config.MetadataExchange is Istio's).
var envoyAPIRoots = []string{
	"envoy.admin.", "envoy.api.", "envoy.config.", "envoy.data.", "envoy.extensions.",
	"envoy.service.", "envoy.type.", "envoy.watchdog.",
	"google.protobuf.", "xds.", "udpa.",
}

// known reports whether a type URL names a message of Envoy's API (current
// or the removed v2), or one of the well-known types it builds on.
func known(typeURL string) bool {
	if typeURL == "" {
		return true
	}
	t := ShortType(typeURL)
	for _, root := range envoyAPIRoots {
		if strings.HasPrefix(t, root) {
			return true
		}
	}
	return false
}
