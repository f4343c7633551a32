package senderkey

import (
	"context"
	"testing"
)

func benchmarkEncrypt(b *testing.B, size int, store func() Store) {
	ss, _, _ := group(b, store, alice, dist1)
	pt := make([]byte, size)
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(ctx, ss, alice, dist1, pt, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkDecrypt(b *testing.B, size int, store func() Store) {
	ss, rs, _ := group(b, store, alice, dist1, bob)
	pt := make([]byte, size)
	ctx := context.Background()
	// Encrypting ahead is too slow to do inside the timed loop, so decrypt
	// a fixed batch over and over, each time on a fresh copy of the record.
	const batch = 256
	cts := make([][]byte, batch)
	for i := range cts {
		var err error
		if cts[i], err = Encrypt(ctx, ss, alice, dist1, pt, nil); err != nil {
			b.Fatal(err)
		}
	}
	initial := snapshot(b, rs[bob], alice, dist1)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%batch == 0 {
			b.StopTimer()
			var r Record
			if err := r.UnmarshalBinary(initial); err != nil {
				b.Fatal(err)
			}
			rs[bob].SaveSenderKey(ctx, alice, dist1, &r)
			b.StartTimer()
		}
		if _, err := Decrypt(ctx, rs[bob], alice, cts[i%batch]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkEncrypt100(b *testing.B)      { benchmarkEncrypt(b, 100, memory) }
func BenchmarkEncrypt4K(b *testing.B)       { benchmarkEncrypt(b, 4096, memory) }
func BenchmarkEncrypt100Codec(b *testing.B) { benchmarkEncrypt(b, 100, codec) }
func BenchmarkDecrypt100(b *testing.B)      { benchmarkDecrypt(b, 100, memory) }
func BenchmarkDecrypt4K(b *testing.B)       { benchmarkDecrypt(b, 4096, memory) }
func BenchmarkDecrypt100Codec(b *testing.B) { benchmarkDecrypt(b, 100, codec) }

// BenchmarkDecryptMaxJump is the worst case a group member can force on a
// receiver with one message: MaxForwardJump chain steps.
func BenchmarkDecryptMaxJump(b *testing.B) {
	ss, rs, skdm := group(b, memory, alice, dist1, bob)
	f := newForger(b, ss, alice, dist1, skdm)
	ct := f.message(MaxForwardJump, []byte("far"))
	ctx := context.Background()
	initial := snapshot(b, rs[bob], alice, dist1)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var r Record
		if err := r.UnmarshalBinary(initial); err != nil {
			b.Fatal(err)
		}
		rs[bob].SaveSenderKey(ctx, alice, dist1, &r)
		b.StartTimer()
		if _, err := Decrypt(ctx, rs[bob], alice, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMessage(b *testing.B) {
	v := loadVectors(b)
	ct := v.Messages[2].Ciphertext
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessage(ct); err != nil {
			b.Fatal(err)
		}
	}
}
