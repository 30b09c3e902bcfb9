// The Envoy types istiod and gateways put in the config they send, known
// so what a proxy is sent (pilot lds|cds|rds|eds, the ADS stand-ins)
// renders whole rather than as opaque type names. The types the model
// decodes are linked (route, listener, cluster, HCM, RBAC, ...); the
// other extensions are not: linking their Go types registers them at
// every start of the plugin (2 MB of resident memory). Their descriptors
// are embedded (envoytypes.binpb, from internal/envoytypes by
// hack/envoytypes) and made into types when a command first meets one.

package xds

import (
	_ "embed"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

//go:generate sh -c "go run ../../hack/envoytypes > envoytypes.binpb"

//go:embed envoytypes.binpb
var envoyTypesSet []byte

// extraTypes are the message types of the embedded descriptors that this
// build does not link, as dynamic messages; made on first use.
var extraTypes = sync.OnceValue(func() *protoregistry.Types {
	return embeddedTypes(func(name protoreflect.FullName) bool {
		_, err := protoregistry.GlobalTypes.FindMessageByName(name)
		return err == nil
	})
})

// embeddedTypes makes dynamic message types of the embedded descriptors,
// but for those linked says are linked.
func embeddedTypes(linked func(protoreflect.FullName) bool) *protoregistry.Types {
	types := new(protoregistry.Types)
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(envoyTypesSet, &set); err != nil {
		return types // an embedded constant: cannot fail (a test reads it)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return types
	}
	var add func(ms protoreflect.MessageDescriptors)
	add = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			md := ms.Get(i)
			if !md.IsMapEntry() && !linked(md.FullName()) {
				_ = types.RegisterMessage(dynamicpb.NewMessageType(md))
			}
			add(md.Messages())
		}
	}
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		add(fd.Messages())
		return true
	})
	return types
}

// findType resolves a type URL to the linked type, else to one of the
// embedded descriptors.
func findType(url string) (protoreflect.MessageType, error) {
	if mt, err := protoregistry.GlobalTypes.FindMessageByURL(url); err == nil {
		return mt, nil
	}
	return extraTypes().FindMessageByURL(url)
}
