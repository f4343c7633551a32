package prekey

import (
	"bytes"
	"errors"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/internal/store"
)

func ec() []byte    { return append([]byte{ECKeyType}, bytes.Repeat([]byte{7}, 32)...) }
func kyber() []byte { return append([]byte{KyberKeyType}, bytes.Repeat([]byte{9}, 1568)...) }
func sig() []byte   { return bytes.Repeat([]byte{1}, 64) }

func TestCheckSigned(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind store.PreKeyKind
		key  store.PreKey
		ok   bool
	}{
		{"signed ec", store.SignedEC, store.PreKey{Public: ec(), Signature: sig()}, true},
		{"signed ec without signature", store.SignedEC, store.PreKey{Public: ec()}, false},
		{"signed ec short signature", store.SignedEC, store.PreKey{Public: ec(), Signature: sig()[:63]}, false},
		{"ec with kyber type byte", store.SignedEC, store.PreKey{Public: append([]byte{KyberKeyType}, ec()[1:]...), Signature: sig()}, false},
		{"ec truncated", store.SignedEC, store.PreKey{Public: ec()[:32], Signature: sig()}, false},
		{"one-time ec", store.OneTimeEC, store.PreKey{Public: ec()}, true},
		{"one-time ec with signature", store.OneTimeEC, store.PreKey{Public: ec(), Signature: sig()}, false},
		{"kyber", store.LastResortKyber, store.PreKey{Public: kyber(), Signature: sig()}, true},
		{"one-time kyber", store.OneTimeKyber, store.PreKey{Public: kyber(), Signature: sig()}, true},
		{"kyber as ec", store.SignedEC, store.PreKey{Public: kyber(), Signature: sig()}, false},
		{"kyber long", store.OneTimeKyber, store.PreKey{Public: append(kyber(), 0), Signature: sig()}, false},
		{"unknown kind", 0, store.PreKey{Public: ec()}, false},
	} {
		err := CheckSigned(tc.kind, tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: %v is not ErrInvalidKey", tc.name, err)
		}
	}
}

func TestCheckSet(t *testing.T) {
	id, err := curve.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(pub []byte) store.PreKey {
		sig, err := id.Private.Sign(nil, pub)
		if err != nil {
			t.Fatal(err)
		}
		return store.PreKey{Public: pub, Signature: sig[:]}
	}
	identity := id.Public.Bytes()
	dup := store.PreKeySet{OneTimeEC: []store.PreKey{{ID: 1, Public: ec()}, {ID: 1, Public: ec()}}}
	if err := CheckSet(identity, dup); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("duplicate ids: %v", err)
	}
	many := store.PreKeySet{}
	for i := range MaxOneTimeBatch + 1 {
		many.OneTimeEC = append(many.OneTimeEC, store.PreKey{ID: uint32(i), Public: ec()})
	}
	if err := CheckSet(identity, many); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("oversized batch: %v", err)
	}
	spk, kyb := signed(ec()), signed(kyber())
	ok := store.PreKeySet{SignedEC: &spk, OneTimeKyber: []store.PreKey{kyb}}
	if err := CheckSet(identity, ok); err != nil {
		t.Error(err)
	}
	other := ec()
	other[5] ^= 1
	forged := store.PreKey{Public: other, Signature: spk.Signature} // a signature of another key
	if err := CheckSet(identity, store.PreKeySet{SignedEC: &forged}); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("forged signature accepted: %v", err)
	}
	if err := CheckSet(ec(), ok); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("keys signed by another identity accepted: %v", err)
	}
	if err := CheckSet([]byte{5, 1}, ok); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("malformed identity accepted: %v", err)
	}
}

func FuzzCheckSigned(f *testing.F) {
	f.Add(byte(1), ec(), sig())
	f.Add(byte(4), kyber(), sig())
	f.Add(byte(3), ec(), []byte{})
	f.Fuzz(func(t *testing.T, kind byte, pub, sig []byte) {
		err := CheckSigned(store.PreKeyKind(kind), store.PreKey{Public: pub, Signature: sig})
		if err == nil && len(pub) != ECKeyLen && len(pub) != KyberKeyLen {
			t.Fatalf("accepted a %d-byte key", len(pub))
		}
	})
}
