package spqr

import (
	"crypto/mlkem"
	"crypto/sha3"
	"crypto/subtle"
	"fmt"
)

// Incremental ML-KEM-768 encapsulation (FIPS 203, K-PKE.Encrypt split in two).
//
// The braid sends the encapsulation key in two parts: the 64-byte header
// rho ‖ H(ek), then the 1152-byte vector ByteEncode12(t̂). Everything in the
// first ciphertext part u = NTT⁻¹(Âᵀ∘r̂) + e1 depends only on rho and on
// (K, r) = G(m ‖ H(ek)), so ct1 (960 bytes) can be sent before t̂ arrives; the
// second part v = NTT⁻¹(t̂ᵀ∘r̂) + e2 + Decompress1(m) (ct2, 128 bytes) needs
// t̂. ct1 ‖ ct2 is an ordinary ML-KEM-768 ciphertext, so decapsulation is
// crypto/mlkem's. The encapsulator keeps only m between the halves and
// recomputes r̂ and e2 from it.

const (
	kemN        = 256
	kemQ        = 3329
	kemK        = 3
	kemDU       = 10
	kemDV       = 4
	kemSeedSize = mlkem.SeedSize // 64: d ‖ z

	kemHeaderSize = 64                      // rho ‖ H(ek)
	kemEKSize     = kemK * 384              // ByteEncode12(t̂), 1152
	kemCT1Size    = kemK * kemN * kemDU / 8 // 960
	kemCT2Size    = kemN * kemDV / 8        // 128
)

type ringElement [kemN]uint16 // coefficients in [0, q)

// zetas[i] = 17^BitRev7(i) mod q, FIPS 203 Appendix A.
var zetas = func() (z [128]uint16) {
	for i := range z {
		z[i] = modPow(17, bitRev7(uint(i)))
	}
	return
}()

// gammas[i] = 17^(2·BitRev7(i)+1) mod q, for MultiplyNTTs.
var gammas = func() (g [128]uint16) {
	for i := range g {
		g[i] = modPow(17, 2*bitRev7(uint(i))+1)
	}
	return
}()

func bitRev7(i uint) uint {
	var r uint
	for b := 0; b < 7; b++ {
		r = r<<1 | (i>>b)&1
	}
	return r
}

func modPow(b, e uint) uint16 {
	r := uint(1)
	for ; e > 0; e-- {
		r = r * b % kemQ
	}
	return uint16(r)
}

func fqAdd(a, b uint16) uint16 { return uint16((uint32(a) + uint32(b)) % kemQ) }
func fqSub(a, b uint16) uint16 { return uint16((uint32(a) + kemQ - uint32(b)) % kemQ) }
func fqMul(a, b uint16) uint16 { return uint16(uint32(a) * uint32(b) % kemQ) }

// ntt is FIPS 203 Algorithm 9.
func ntt(f ringElement) ringElement {
	k := 1
	for l := 128; l >= 2; l /= 2 {
		for start := 0; start < kemN; start += 2 * l {
			zeta := zetas[k]
			k++
			for j := start; j < start+l; j++ {
				t := fqMul(zeta, f[j+l])
				f[j+l] = fqSub(f[j], t)
				f[j] = fqAdd(f[j], t)
			}
		}
	}
	return f
}

// invNTT is FIPS 203 Algorithm 10.
func invNTT(f ringElement) ringElement {
	k := 127
	for l := 2; l <= 128; l *= 2 {
		for start := 0; start < kemN; start += 2 * l {
			zeta := zetas[k]
			k--
			for j := start; j < start+l; j++ {
				t := f[j]
				f[j] = fqAdd(t, f[j+l])
				f[j+l] = fqMul(zeta, fqSub(f[j+l], t))
			}
		}
	}
	for i := range f {
		f[i] = fqMul(f[i], 3303) // 128⁻¹ mod q
	}
	return f
}

// mulNTT is FIPS 203 Algorithms 11 and 12.
func mulNTT(f, g ringElement) ringElement {
	var h ringElement
	for i := 0; i < 128; i++ {
		a0, a1 := f[2*i], f[2*i+1]
		b0, b1 := g[2*i], g[2*i+1]
		h[2*i] = fqAdd(fqMul(a0, b0), fqMul(fqMul(a1, b1), gammas[i]))
		h[2*i+1] = fqAdd(fqMul(a0, b1), fqMul(a1, b0))
	}
	return h
}

func polyAdd(a, b ringElement) ringElement {
	for i := range a {
		a[i] = fqAdd(a[i], b[i])
	}
	return a
}

// sampleNTT is FIPS 203 Algorithm 7 on XOF = SHAKE128(rho ‖ j ‖ i).
func sampleNTT(rho []byte, j, i byte) ringElement {
	h := sha3.NewSHAKE128()
	h.Write(rho)
	h.Write([]byte{j, i})
	var a ringElement
	var buf [168]byte
	n := 0
	for n < kemN {
		h.Read(buf[:])
		for o := 0; o+3 <= len(buf) && n < kemN; o += 3 {
			d1 := uint16(buf[o]) | uint16(buf[o+1]&0x0f)<<8
			d2 := uint16(buf[o+1])>>4 | uint16(buf[o+2])<<4
			if d1 < kemQ {
				a[n] = d1
				n++
			}
			if d2 < kemQ && n < kemN {
				a[n] = d2
				n++
			}
		}
	}
	return a
}

// cbd2 is SamplePolyCBD with eta = 2 on PRF(s, b) = SHAKE256(s ‖ b, 128).
func cbd2(s []byte, b byte) ringElement {
	in := make([]byte, 0, 33)
	in = append(append(in, s...), b)
	buf := sha3.SumSHAKE256(in, 128)
	var f ringElement
	for i := 0; i < kemN; i++ {
		// Coefficient i uses bits 4i..4i+3 of the stream.
		nib := buf[i/2] >> (4 * (i % 2))
		x := uint16(nib&1) + uint16(nib>>1&1)
		y := uint16(nib>>2&1) + uint16(nib>>3&1)
		f[i] = fqSub(x, y)
	}
	return f
}

func compress(x uint16, d uint) uint16 {
	// round(2^d · x / q) mod 2^d
	return uint16(((uint32(x)<<d)+kemQ/2)/kemQ) & (1<<d - 1)
}

func decompress1(bit uint16) uint16 {
	return bit * ((kemQ + 1) / 2)
}

// encapsRandomness derives (K, r) = G(m ‖ H(ek)) and the sampled vectors.
type encapsDerived struct {
	key   [32]byte
	rHat  [kemK]ringElement
	e1    [kemK]ringElement
	e2    ringElement
	coins [32]byte
}

func deriveEncaps(hash []byte, m *[32]byte) *encapsDerived {
	g := sha3.Sum512(append(m[:len(m):len(m)], hash...))
	d := &encapsDerived{}
	copy(d.key[:], g[:32])
	copy(d.coins[:], g[32:])
	for i := 0; i < kemK; i++ {
		d.rHat[i] = ntt(cbd2(d.coins[:], byte(i)))
	}
	for i := 0; i < kemK; i++ {
		d.e1[i] = cbd2(d.coins[:], byte(kemK+i))
	}
	d.e2 = cbd2(d.coins[:], 2*kemK)
	return d
}

// encaps1 computes ct1 and the shared secret from the header alone, using the
// 32 bytes m as the encapsulation randomness.
func encaps1(hdr []byte, m *[32]byte) (ct1 []byte, key [32]byte) {
	rho, hash := hdr[:32], hdr[32:64]
	d := deriveEncaps(hash, m)
	ct1 = make([]byte, 0, kemCT1Size)
	for i := 0; i < kemK; i++ {
		var acc ringElement
		for j := 0; j < kemK; j++ {
			// (Âᵀ)[i][j] = Â[j][i] = SampleNTT(rho ‖ i ‖ j).
			acc = polyAdd(acc, mulNTT(sampleNTT(rho, byte(i), byte(j)), d.rHat[j]))
		}
		u := polyAdd(invNTT(acc), d.e1[i])
		ct1 = appendCompressed(ct1, &u, kemDU)
	}
	return ct1, d.key
}

// encaps2 computes ct2 from the header, the vector part of the encapsulation
// key (already validated against the header) and the randomness m of encaps1.
func encaps2(hdr, ekVec []byte, m *[32]byte) []byte {
	d := deriveEncaps(hdr[32:64], m)
	var acc ringElement
	for i := 0; i < kemK; i++ {
		acc = polyAdd(acc, mulNTT(decode12(ekVec[384*i:384*(i+1)]), d.rHat[i]))
	}
	v := polyAdd(invNTT(acc), d.e2)
	for i := 0; i < kemN; i++ {
		bit := uint16(m[i/8]>>(i%8)) & 1
		v[i] = fqAdd(v[i], decompress1(bit))
	}
	return appendCompressed(make([]byte, 0, kemCT2Size), &v, kemDV)
}

// decode12 is ByteDecode12 without the modulus check (validated earlier).
func decode12(b []byte) ringElement {
	var f ringElement
	for i := 0; i < kemN/2; i++ {
		x := uint32(b[3*i]) | uint32(b[3*i+1])<<8 | uint32(b[3*i+2])<<16
		f[2*i] = uint16(x&0xfff) % kemQ
		f[2*i+1] = uint16(x>>12) % kemQ
	}
	return f
}

// appendCompressed appends ByteEncode_d(Compress_d(f)), little-endian bits.
func appendCompressed(out []byte, f *ringElement, d uint) []byte {
	var acc uint32
	var bits uint
	for i := 0; i < kemN; i++ {
		acc |= uint32(compress(f[i], d)) << bits
		bits += d
		for bits >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			bits -= 8
		}
	}
	return out
}

// kemKeys is the braid's ek-sender key material, derived from a 64-byte seed
// so that the state stores the seed only.
type kemKeys struct {
	dk  *mlkem.DecapsulationKey768
	hdr []byte // rho ‖ H(ek)
	vec []byte // ByteEncode12(t̂)
}

func kemKeysFromSeed(seed []byte) (*kemKeys, error) {
	dk, err := mlkem.NewDecapsulationKey768(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStateDecode, err)
	}
	ek := dk.EncapsulationKey().Bytes() // t̂ ‖ rho
	h := sha3.Sum256(ek)
	hdr := make([]byte, 0, kemHeaderSize)
	hdr = append(append(hdr, ek[kemEKSize:]...), h[:]...)
	return &kemKeys{dk: dk, hdr: hdr, vec: ek[:kemEKSize:kemEKSize]}, nil
}

// ekMatchesHeader checks that ekVec completes hdr into a valid encapsulation
// key: the hash must match and every coefficient must be below q.
func ekMatchesHeader(hdr, ekVec []byte) bool {
	if len(hdr) != kemHeaderSize || len(ekVec) != kemEKSize {
		return false
	}
	ek := make([]byte, 0, kemEKSize+32)
	ek = append(append(ek, ekVec...), hdr[:32]...)
	h := sha3.Sum256(ek)
	if subtle.ConstantTimeCompare(h[:], hdr[32:]) != 1 {
		return false
	}
	_, err := mlkem.NewEncapsulationKey768(ek)
	return err == nil
}
