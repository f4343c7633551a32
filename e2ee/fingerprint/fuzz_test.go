package fingerprint

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// referenceDescriptor builds libsignal's fingerprint.proto at run time so the
// fuzz target can check the hand-written decoder against the official Go
// protobuf runtime, an independent implementation of the same wire rules.
func referenceDescriptor(t testing.TB) protoreflect.MessageDescriptor {
	t.Helper()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, msg string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Label: opt, Type: typ.Enum()}
		if msg != "" {
			f.TypeName = proto.String(msg)
		}
		return f
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("fingerprint.proto"),
		Package: proto.String("signal.proto.fingerprint"),
		Syntax:  proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("LogicalFingerprint"), Field: []*descriptorpb.FieldDescriptorProto{
				field("content", 1, descriptorpb.FieldDescriptorProto_TYPE_BYTES, ""),
			}},
			{Name: proto.String("CombinedFingerprints"), Field: []*descriptorpb.FieldDescriptorProto{
				field("version", 1, descriptorpb.FieldDescriptorProto_TYPE_UINT32, ""),
				field("local_fingerprint", 2, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".signal.proto.fingerprint.LogicalFingerprint"),
				field("remote_fingerprint", 3, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".signal.proto.fingerprint.LogicalFingerprint"),
			}},
		},
	}
	file, err := protodesc.NewFile(fd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return file.Messages().ByName("CombinedFingerprints")
}

// referenceDecode decodes with the Go protobuf runtime into our struct shape.
func referenceDecode(md protoreflect.MessageDescriptor, b []byte) (combinedFingerprints, error) {
	m := dynamicpb.NewMessage(md)
	var c combinedFingerprints
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, m); err != nil {
		return c, err
	}
	fields := md.Fields()
	c.version = uint32(m.Get(fields.ByNumber(fieldVersion)).Uint())
	sub := func(num protoreflect.FieldNumber, dst *logicalFingerprint) {
		fd := fields.ByNumber(num)
		if !m.Has(fd) {
			return
		}
		lm := m.Get(fd).Message()
		cfd := lm.Descriptor().Fields().ByNumber(fieldContent)
		if lm.Has(cfd) {
			dst.hasContent = true
			dst.content = lm.Get(cfd).Bytes()
		}
	}
	sub(fieldLocal, &c.local)
	sub(fieldRemote, &c.remote)
	return c, nil
}

func FuzzCompare(f *testing.F) {
	v := loadVectors(f)
	for _, tv := range v.Versions {
		f.Add(mustHex(f, tv.AliceScannable))
		f.Add(mustHex(f, tv.BobScannable))
	}
	f.Add(mustHex(f, v.Encoding.Serialized))
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x02, 0x12, 0x00, 0x1a, 0x00})
	f.Add([]byte{0x4b, 0x0b, 0x0c, 0x4c})
	f.Add([]byte("https://signal.org/"))

	alice, err := New(v.Iterations, Version2, v.Alice.id(), v.Alice.key(f), v.Bob.id(), v.Bob.key(f))
	if err != nil {
		f.Fatal(err)
	}
	md := referenceDescriptor(f)

	f.Fuzz(func(t *testing.T, scanned []byte) {
		orig := bytes.Clone(scanned)
		ok, err := alice.Compare(scanned)
		if !bytes.Equal(orig, scanned) {
			t.Fatal("Compare modified its input")
		}
		if ok && err != nil {
			t.Fatalf("true with error %v", err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersionMismatch) {
			t.Fatalf("untyped error %v", err)
		}

		ours, oerr := decodeCombined(scanned)
		ref, rerr := referenceDecode(md, scanned)
		switch {
		case oerr == nil && rerr == nil:
			if ours.version != ref.version ||
				ours.local.hasContent != ref.local.hasContent || !bytes.Equal(ours.local.content, ref.local.content) ||
				ours.remote.hasContent != ref.remote.hasContent || !bytes.Equal(ours.remote.content, ref.remote.content) {
				t.Fatalf("decoders disagree on %x:\n ours %+v\n  ref %+v", scanned, ours, ref)
			}
		case (oerr == nil) != (rerr == nil):
			// Known divergences, where we follow prost: prost rejects a known
			// field with the wrong wire type while Go keeps it as an unknown
			// field; prost caps nesting at 100 where Go allows 10000; inside
			// unknown groups prost still rejects field numbers above 2^29-1
			// while Go allows up to 2^31-1. Anything else is a bug.
			if errors.Is(oerr, errWireType) {
				return
			}
			if errors.Is(oerr, errTooDeep) {
				if deep, err := decodeCombinedDepth(scanned, 10000); err == nil && rerr == nil && deep.version == ref.version {
					return
				}
			}
			if errors.Is(oerr, errKeyRange) {
				return
			}
			t.Fatalf("decoders disagree on %x: ours %v, ref %v", scanned, oerr, rerr)
		}

		if ok {
			// A match means the code holds exactly our two fingerprints, crosswise.
			if ours.version != alice.version || !bytes.Equal(ours.local.content, alice.remote[:]) || !bytes.Equal(ours.remote.content, alice.local[:]) {
				t.Fatalf("accepted a code that does not carry our fingerprints: %x", scanned)
			}
			// Re-encoding the decoded message is the canonical peer code.
			if !bytes.Equal(encodeCombined(ours.version, ours.local.content, ours.remote.content), mustHex(t, v.Versions[1].BobScannable)) {
				t.Fatal("accepted code does not re-encode to Bob's code")
			}
		}
	})
}
