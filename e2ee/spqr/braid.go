package spqr

import (
	"crypto/hmac"
	"fmt"
	"io"
	"math"

	"github.com/parley-im/parley/e2ee/internal/kdf"
)

// The ML-KEM Braid, chunked. Each epoch has an ek sender, who makes an
// ML-KEM-768 key pair and sends its header and then its vector, and a ct
// sender, who encapsulates to it: ct1 as soon as the header is in, ct2 once
// the vector is in and ct1 is acknowledged. Both derive the epoch secret;
// then they swap roles for the next epoch. Every message of either side
// carries one chunk of whatever that side is sending at the time.
//
// ek side:  KeysUnsampled → KeysSampled → HeaderSent → Ct1Received →
//           EkSentCt1Received → (ct2 complete: next epoch, ct side)
// ct side:  NoHeaderReceived → HeaderReceived → Ct1Sampled →
//           {EkReceivedCt1Sampled | Ct1Acknowledged} → Ct2Sampled →
//           (peer in next epoch: ek side)

type braidKind uint8

const (
	kindKeysUnsampled braidKind = iota + 1
	kindKeysSampled
	kindHeaderSent
	kindCt1Received
	kindEkSentCt1Received
	kindNoHeaderReceived
	kindHeaderReceived
	kindCt1Sampled
	kindEkReceivedCt1Sampled
	kindCt1Acknowledged
	kindCt2Sampled
	kindLast = kindCt2Sampled
)

var braidKindNames = [...]string{
	kindKeysUnsampled: "KeysUnsampled", kindKeysSampled: "KeysSampled",
	kindHeaderSent: "HeaderSent", kindCt1Received: "Ct1Received",
	kindEkSentCt1Received: "EkSentCt1Received", kindNoHeaderReceived: "NoHeaderReceived",
	kindHeaderReceived: "HeaderReceived", kindCt1Sampled: "Ct1Sampled",
	kindEkReceivedCt1Sampled: "EkReceivedCt1Sampled", kindCt1Acknowledged: "Ct1Acknowledged",
	kindCt2Sampled: "Ct2Sampled",
}

func (k braidKind) String() string {
	if k >= 1 && k <= kindLast {
		return braidKindNames[k]
	}
	return fmt.Sprintf("braidKind(%d)", uint8(k))
}

// KDF and MAC labels, as byte slices (never written).
var (
	labelAuthUpdate = []byte("Signal_PQCKA_V1_MLKEM768:Authenticator Update")
	labelMACHeader  = []byte("Signal_PQCKA_V1_MLKEM768:ekheader")
	labelMACCt      = []byte("Signal_PQCKA_V1_MLKEM768:ciphertext")
	labelSCKAKey    = []byte("Signal_PQCKA_V1_MLKEM768:SCKA Key")
)

const (
	macSize = 32

	hdrMsgSize = kemHeaderSize + macSize // 96 bytes on the wire
	ct2MsgSize = kemCT2Size + macSize    // 160 bytes on the wire
)

// authenticator MACs headers and ciphertexts with a key that every epoch
// secret updates, starting from the PQXDH-derived key.
type authenticator struct {
	root, mac [32]byte
}

func newAuthenticator(authKey []byte, epoch uint64) authenticator {
	var a authenticator
	a.update(epoch, authKey)
	return a
}

func (a *authenticator) update(epoch uint64, k []byte) {
	ikm := append(a.root[:len(a.root):len(a.root)], k...)
	var okm [64]byte
	e := be64(epoch)
	kdf.HKDF(okm[:], zeroSalt, ikm, labelAuthUpdate, e[:])
	copy(a.root[:], okm[:32])
	copy(a.mac[:], okm[32:])
}

func (a *authenticator) macOf(label []byte, epoch uint64, data []byte) []byte {
	e := be64(epoch)
	mac := kdf.HMAC(a.mac[:], label, e[:], data)
	return mac[:]
}

// epochSecret is a braid output: the shared secret of one epoch.
type epochSecret struct {
	epoch  uint64
	secret []byte
}

func scka(epoch uint64, kemSecret []byte) []byte {
	var out [32]byte
	e := be64(epoch)
	kdf.HKDF(out[:], zeroSalt, kemSecret, labelSCKAKey, e[:])
	return out[:]
}

// braid is one state of the machine. Which fields are meaningful depends on
// kind (see marshal). Transitions build a new value: a braid is never
// changed in place once shared, so a failing message leaves the old state.
//
// A state sends at most one message and gathers at most one at a time, so
// one encoder and one decoder serve every kind (a braid is copied on every
// transition and clone: it is kept small).
type braid struct {
	kind  braidKind
	epoch uint64
	auth  authenticator

	// enc is what this side is sending:
	//   KeysSampled: header ‖ MAC; HeaderSent, Ct1Received: the key vector;
	//   Ct1Sampled, EkReceivedCt1Sampled: ct1; Ct2Sampled: ct2 ‖ MAC.
	enc encoder
	// dec is what this side is receiving:
	//   HeaderSent: ct1; EkSentCt1Received: ct2 ‖ MAC;
	//   NoHeaderReceived: header ‖ MAC;
	//   HeaderReceived, Ct1Sampled, Ct1Acknowledged: the key vector.
	dec decoder

	// ek side
	seed []byte // KEM key-pair seed, from KeysSampled until ct2 is in
	// keys caches kemKeysFromSeed(seed), which the ek side needs three times
	// an epoch. Not stored (a loaded state derives it again); copies share
	// it, and it is only read.
	keys *kemKeys

	// ct side
	hdr []byte   // HeaderReceived .. Ct1Acknowledged
	m   [32]byte // encapsulation randomness, Ct1Sampled .. Ct1Acknowledged
	ek  []byte   // EkReceivedCt1Sampled: the key vector

	ct1 []byte // ek side: Ct1Received, EkSentCt1Received; ct side: Ct1Sampled .. Ct1Acknowledged
}

func newBraidA(authKey []byte) braid {
	return braid{kind: kindKeysUnsampled, epoch: 1, auth: newAuthenticator(authKey, 1)}
}

func newBraidB(authKey []byte) braid {
	d, _ := newDecoder(hdrMsgSize)
	return braid{kind: kindNoHeaderReceived, epoch: 1, auth: newAuthenticator(authKey, 1), dec: d}
}

func mustEncoder(msg []byte) encoder {
	e, err := newEncoder(msg)
	if err != nil {
		panic("spqr: " + err.Error()) // unreachable: fixed even sizes
	}
	return e
}

func mustDecoder(n int) decoder {
	d, err := newDecoder(n)
	if err != nil {
		panic("spqr: " + err.Error()) // unreachable: fixed even sizes
	}
	return d
}

// send returns the next state, the message to send (index not yet set) and,
// when this send completes an epoch on the ct side, its secret.
func (b braid) send(rand io.Reader) (braid, message, *epochSecret, error) {
	m := message{epoch: b.epoch}
	switch b.kind {
	case kindKeysUnsampled:
		seed := make([]byte, kemSeedSize)
		if _, err := io.ReadFull(rand, seed); err != nil {
			return b, m, nil, fmt.Errorf("%w: %v", ErrRandom, err)
		}
		keys, err := kemKeysFromSeed(seed)
		if err != nil {
			return b, m, nil, err
		}
		mac := b.auth.macOf(labelMACHeader, b.epoch, keys.hdr)
		n := braid{kind: kindKeysSampled, epoch: b.epoch, auth: b.auth, seed: seed, keys: keys,
			enc: mustEncoder(append(append([]byte(nil), keys.hdr...), mac...))}
		m.typ, m.chunk = TypeHdr, n.enc.next()
		return n, m, nil, nil
	case kindKeysSampled:
		m.typ, m.chunk = TypeHdr, b.enc.next()
	case kindHeaderSent:
		m.typ, m.chunk = TypeEk, b.enc.next()
	case kindCt1Received:
		m.typ, m.chunk = TypeEkCt1Ack, b.enc.next()
	case kindEkSentCt1Received:
		m.typ = TypeCt1Ack
	case kindNoHeaderReceived, kindCt1Acknowledged:
		m.typ = TypeNone
	case kindHeaderReceived:
		var r [32]byte
		if _, err := io.ReadFull(rand, r[:]); err != nil {
			return b, m, nil, fmt.Errorf("%w: %v", ErrRandom, err)
		}
		ct1, k := encaps1(b.hdr, &r)
		secret := scka(b.epoch, k[:])
		n := braid{kind: kindCt1Sampled, epoch: b.epoch, auth: b.auth, hdr: b.hdr,
			dec: b.dec, m: r, ct1: ct1, enc: mustEncoder(ct1)}
		n.auth.update(b.epoch, secret)
		m.typ, m.chunk = TypeCt1, n.enc.next()
		return n, m, &epochSecret{epoch: b.epoch, secret: secret}, nil
	case kindCt1Sampled, kindEkReceivedCt1Sampled:
		m.typ, m.chunk = TypeCt1, b.enc.next()
	case kindCt2Sampled:
		m.typ, m.chunk = TypeCt2, b.enc.next()
	default:
		return b, m, nil, fmt.Errorf("%w: braid kind %v", ErrStateDecode, b.kind)
	}
	return b, m, nil, nil
}

// recv returns the next state and, when this message completes an epoch on
// the ek side, its secret. On error the caller keeps b.
func (b braid) recv(msg *message) (braid, *epochSecret, error) {
	if msg.epoch > b.epoch {
		if b.kind == kindCt2Sampled && b.epoch < math.MaxUint64 && msg.epoch == b.epoch+1 {
			// The ek side has its ct2 and moved on: our turn to send keys.
			return braid{kind: kindKeysUnsampled, epoch: msg.epoch, auth: b.auth}, nil, nil
		}
		return b, nil, fmt.Errorf("%w: message epoch %d, state epoch %d", ErrEpochOutOfRange, msg.epoch, b.epoch)
	}
	if msg.epoch < b.epoch {
		return b, nil, nil
	}
	switch b.kind {
	case kindKeysSampled:
		if msg.typ != TypeCt1 {
			return b, nil, nil
		}
		// The first ct1 chunk shows the header arrived: switch to the vector.
		keys, err := b.kemKeys()
		if err != nil {
			return b, nil, err
		}
		return braid{kind: kindHeaderSent, epoch: b.epoch, auth: b.auth, seed: b.seed, keys: keys,
			enc: mustEncoder(keys.vec), dec: mustDecoder(kemCT1Size).add(msg.chunk)}, nil, nil
	case kindHeaderSent:
		if msg.typ != TypeCt1 {
			return b, nil, nil
		}
		n := b
		n.dec = b.dec.add(msg.chunk)
		ct1, ok := n.dec.decoded()
		if !ok {
			return n, nil, nil
		}
		return braid{kind: kindCt1Received, epoch: b.epoch, auth: b.auth, seed: b.seed, keys: b.keys,
			enc: b.enc, ct1: ct1}, nil, nil
	case kindCt1Received:
		if msg.typ != TypeCt2 {
			return b, nil, nil
		}
		return braid{kind: kindEkSentCt1Received, epoch: b.epoch, auth: b.auth, seed: b.seed, keys: b.keys,
			ct1: b.ct1, dec: mustDecoder(ct2MsgSize).add(msg.chunk)}, nil, nil
	case kindEkSentCt1Received:
		if msg.typ != TypeCt2 {
			return b, nil, nil
		}
		n := b
		n.dec = b.dec.add(msg.chunk)
		data, ok := n.dec.decoded()
		if !ok {
			return n, nil, nil
		}
		return b.finishEpoch(data)
	case kindNoHeaderReceived:
		if msg.typ != TypeHdr {
			return b, nil, nil
		}
		n := b
		n.dec = b.dec.add(msg.chunk)
		data, ok := n.dec.decoded()
		if !ok {
			return n, nil, nil
		}
		hdr, mac := data[:kemHeaderSize], data[kemHeaderSize:]
		if !hmac.Equal(mac, b.auth.macOf(labelMACHeader, b.epoch, hdr)) {
			return b, nil, fmt.Errorf("%w: header, epoch %d", ErrMACVerify, b.epoch)
		}
		return braid{kind: kindHeaderReceived, epoch: b.epoch, auth: b.auth, hdr: hdr,
			dec: mustDecoder(kemEKSize)}, nil, nil
	case kindCt1Sampled, kindCt1Acknowledged:
		ack := msg.typ == TypeEkCt1Ack
		if msg.typ != TypeEk && !ack {
			return b, nil, nil
		}
		ack = ack || b.kind == kindCt1Acknowledged
		n := b
		n.dec = b.dec.add(msg.chunk)
		ek, ok := n.dec.decoded()
		if !ok {
			if ack {
				n.kind = kindCt1Acknowledged
				n.enc = encoder{}
			}
			return n, nil, nil
		}
		if !ekMatchesHeader(b.hdr, ek) {
			return b, nil, fmt.Errorf("%w: epoch %d", ErrErroneousData, b.epoch)
		}
		if ack {
			return b.sendCt2(ek), nil, nil
		}
		return braid{kind: kindEkReceivedCt1Sampled, epoch: b.epoch, auth: b.auth, hdr: b.hdr,
			m: b.m, ct1: b.ct1, enc: b.enc, ek: ek}, nil, nil
	case kindEkReceivedCt1Sampled:
		if msg.typ != TypeCt1Ack && msg.typ != TypeEkCt1Ack {
			return b, nil, nil
		}
		return b.sendCt2(b.ek), nil, nil
	case kindKeysUnsampled, kindHeaderReceived, kindCt2Sampled:
		return b, nil, nil
	}
	return b, nil, fmt.Errorf("%w: braid kind %v", ErrStateDecode, b.kind)
}

// kemKeys returns the ek side's KEM keys, from the cache when it is there.
func (b *braid) kemKeys() (*kemKeys, error) {
	if b.keys != nil {
		return b.keys, nil
	}
	return kemKeysFromSeed(b.seed)
}

// finishEpoch decapsulates on the ek side once ct2 ‖ MAC is complete.
func (b braid) finishEpoch(data []byte) (braid, *epochSecret, error) {
	ct2, mac := data[:kemCT2Size], data[kemCT2Size:]
	keys, err := b.kemKeys()
	if err != nil {
		return b, nil, err
	}
	ct := append(append(make([]byte, 0, kemCT1Size+kemCT2Size), b.ct1...), ct2...)
	k, err := keys.dk.Decapsulate(ct)
	if err != nil {
		return b, nil, fmt.Errorf("%w: %v", ErrStateDecode, err)
	}
	secret := scka(b.epoch, k)
	auth := b.auth
	auth.update(b.epoch, secret)
	if !hmac.Equal(mac, auth.macOf(labelMACCt, b.epoch, ct)) {
		return b, nil, fmt.Errorf("%w: ciphertext, epoch %d", ErrMACVerify, b.epoch)
	}
	if b.epoch == math.MaxUint64 {
		return b, nil, fmt.Errorf("%w: epoch overflow", ErrEpochOutOfRange)
	}
	return braid{kind: kindNoHeaderReceived, epoch: b.epoch + 1, auth: auth,
		dec: mustDecoder(hdrMsgSize)}, &epochSecret{epoch: b.epoch, secret: secret}, nil
}

// sendCt2 completes the encapsulation once the vector is in and ct1 is
// acknowledged.
func (b braid) sendCt2(ek []byte) braid {
	ct2 := encaps2(b.hdr, ek, &b.m)
	ct := append(append(make([]byte, 0, kemCT1Size+kemCT2Size), b.ct1...), ct2...)
	mac := b.auth.macOf(labelMACCt, b.epoch, ct)
	return braid{kind: kindCt2Sampled, epoch: b.epoch, auth: b.auth,
		enc: mustEncoder(append(ct2, mac...))}
}
