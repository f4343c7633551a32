// Package wirepb is the generated Go of proto/wire.proto, the client⇄server
// wire protocol, plus the few helpers both sides need to speak it.
package wirepb

import "encoding/binary"

// AuthContext separates device proofs from any other signature a device key
// might make.
const AuthContext = "parley-auth-v1"

// AuthMessage is the byte string a device signs with its Ed25519 auth key to
// authenticate a connection: AuthContext ‖ challenge ‖ account id ‖ device id
// (4 bytes, big endian). The challenge comes from HelloResult and is fresh per
// connection, so a proof cannot be replayed on another.
func AuthMessage(challenge []byte, account [16]byte, device uint32) []byte {
	msg := make([]byte, 0, len(AuthContext)+len(challenge)+16+4)
	msg = append(msg, AuthContext...)
	msg = append(msg, challenge...)
	msg = append(msg, account[:]...)
	return binary.BigEndian.AppendUint32(msg, device)
}
