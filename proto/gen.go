// Package proto holds the .proto sources of Parley's wire protocol and of the
// events its nodes exchange, and of the plaintext content inside end-to-end
// encrypted messages. The generated Go lives in wirepb, buspb and contentpb and is
// committed; run `go generate ./proto` after editing a .proto file (it needs
// protoc and protoc-gen-go, see the Makefile's gen target).
package proto

//go:generate protoc --go_out=. --go_opt=module=github.com/parley-im/parley/proto wire.proto bus.proto content.proto
