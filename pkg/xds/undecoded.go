package xds

import (
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"
)

// UndecodedTypeURL names the message that carries, in JSON, an Any of a type
// this build does not link: {"@type": UndecodedTypeURL, "type_url": the
// original type, "value": its serialized bytes}. Writing such an Any as an
// empty message would show a config with nothing in it; this keeps what was
// received, and says it was not decoded.
const UndecodedTypeURL = "type.googleapis.com/kubectl_mesh.v1.Undecoded"

var undecoded struct {
	once sync.Once
	typ  protoreflect.MessageType
}

func undecodedType() protoreflect.MessageType {
	undecoded.once.Do(func() {
		str, byt := descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_BYTES
		opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
			Name: proto.String("kubectl_mesh/undecoded.proto"), Package: proto.String("kubectl_mesh.v1"), Syntax: proto.String("proto3"),
			MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Undecoded"), Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("type_url"), Number: proto.Int32(1), Type: str.Enum(), Label: opt.Enum(), JsonName: proto.String("typeUrl")},
				{Name: proto.String("value"), Number: proto.Int32(2), Type: byt.Enum(), Label: opt.Enum(), JsonName: proto.String("value")},
			}}},
		}, nil)
		if err != nil {
			panic(err) // a constant descriptor: cannot fail
		}
		undecoded.typ = dynamicpb.NewMessageType(fd.Messages().Get(0))
	})
	return undecoded.typ
}

// PreserveUndecoded rewrites, in m, every Any of a type this build does not
// link into an Any of the Undecoded message holding its type URL and bytes,
// at any depth (inside the Anys it can decode too). Marshal the result with
// DumpResolver.
func PreserveUndecoded(m proto.Message) {
	preserve(m.ProtoReflect())
}

func preserve(m protoreflect.Message) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		preserveAny(a)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				preserve(mv.Message())
				return true
			})
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				preserve(v.List().Get(i).Message())
			}
		case fd.Message() != nil && !fd.IsMap() && !fd.IsList():
			preserve(v.Message())
		}
		return true
	})
}

func preserveAny(a *anypb.Any) {
	if a.GetTypeUrl() == UndecodedTypeURL {
		return
	}
	mt, err := findType(a.GetTypeUrl())
	if err != nil {
		w := undecodedType().New()
		w.Set(w.Descriptor().Fields().ByNumber(1), protoreflect.ValueOfString(a.GetTypeUrl()))
		w.Set(w.Descriptor().Fields().ByNumber(2), protoreflect.ValueOfBytes(a.GetValue()))
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(w.Interface())
		if err == nil {
			a.TypeUrl, a.Value = UndecodedTypeURL, b
		}
		return
	}
	inner := mt.New()
	if err := proto.Unmarshal(a.GetValue(), inner.Interface()); err != nil {
		return
	}
	before := len(a.GetValue())
	preserve(inner)
	if b, err := (proto.MarshalOptions{Deterministic: true}).Marshal(inner.Interface()); err == nil && (len(b) != before || !proto.Equal(inner.Interface(), mustUnmarshal(mt, a.GetValue()))) {
		a.Value = b
	}
}

func mustUnmarshal(mt protoreflect.MessageType, b []byte) proto.Message {
	m := mt.New().Interface()
	_ = proto.Unmarshal(b, m)
	return m
}

// DumpResolver resolves the types this build links and the Undecoded
// message, for writing dumps that PreserveUndecoded prepared.
var DumpResolver interface {
	protoregistry.MessageTypeResolver
	protoregistry.ExtensionTypeResolver
} = dumpResolver{}

type dumpResolver struct{ lenientResolver }

func (dumpResolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if url == UndecodedTypeURL {
		return undecodedType(), nil
	}
	return lenientResolver{}.FindMessageByURL(url)
}
