package spqr

import "testing"

// Cost of one message each way in strict ping-pong, averaged over whole
// epochs (key generation, encapsulation and erasure coding included).
func BenchmarkPingPong(b *testing.B) {
	a, c := newPair(b, V1)
	r := detRand(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mustRecvKey(b, c, mustSend(b, a, r))
		mustRecvKey(b, a, mustSend(b, c, r))
	}
}

func BenchmarkStateMarshalRoundTrip(b *testing.B) {
	a, c := newPair(b, V1)
	r := detRand(1)
	for i := 0; i < 40; i++ {
		mustRecvKey(b, c, mustSend(b, a, r))
		mustRecvKey(b, a, mustSend(b, c, r))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		enc, _ := a.MarshalBinary()
		var s State
		if err := s.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncaps(b *testing.B) {
	keys, _ := kemKeysFromSeed(make([]byte, kemSeedSize))
	var m [32]byte
	for i := 0; i < b.N; i++ {
		encaps1(keys.hdr, &m)
		encaps2(keys.hdr, keys.vec, &m)
	}
}
