package sealedsender

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"io"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/curve"
)

// VersionV1 is the first byte of a sealed sender v1 envelope.
const VersionV1 = 0x11

const (
	saltPrefix = "UnidentifiedDelivery"
	macLen     = 10 // the HMAC-SHA256 tag is truncated to 10 bytes
)

type symKeys struct {
	chain, cipher, mac []byte
}

// derive runs HKDF-SHA256 with an empty info into 96 bytes: chain, cipher
// and MAC keys. The static step derives the same 96 bytes and ignores the
// first 32, mirroring the ephemeral step.
func derive(secret, salt []byte) symKeys {
	okm, err := hkdf.Key(sha256.New, secret, salt, "", 96)
	if err != nil {
		panic("sealedsender: unreachable: hkdf: " + err.Error())
	}
	return symKeys{chain: okm[:32], cipher: okm[32:64], mac: okm[64:]}
}

func ephemeralSalt(recipient, ephemeral curve.PublicKey) []byte {
	s := append([]byte(saltPrefix), recipient.Bytes()...)
	return append(s, ephemeral.Bytes()...)
}

// ctr is AES-256-CTR with a zero IV: every key is used once.
func ctr(key, in []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("sealedsender: unreachable: aes: " + err.Error())
	}
	out := make([]byte, len(in))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(out, in)
	return out
}

func tag(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)[:macLen]
}

func seal(k symKeys, pt []byte) []byte {
	ct := ctr(k.cipher, pt)
	return append(ct, tag(k.mac, ct)...)
}

func open(k symKeys, ct []byte) ([]byte, bool) {
	if len(ct) < macLen {
		return nil, false
	}
	body, t := ct[:len(ct)-macLen], ct[len(ct)-macLen:]
	if subtle.ConstantTimeCompare(tag(k.mac, body), t) != 1 {
		return nil, false
	}
	return ctr(k.cipher, body), true
}

// Encrypt seals content for the recipient's identity key, from the sender's
// identity key pair (whose public key must be the one in the content's
// sender certificate for the recipient to accept it).
func Encrypt(rand io.Reader, content *Content, sender curve.KeyPair, recipient curve.PublicKey) ([]byte, error) {
	usmc, err := content.Serialize()
	if err != nil {
		return nil, err
	}
	eph, err := curve.GenerateKeyPair(rand)
	if err != nil {
		return nil, err
	}
	dh, err := eph.Private.Agree(recipient)
	if err != nil {
		return nil, ErrInvalidKey
	}
	ek := derive(dh[:], ephemeralSalt(recipient, eph.Public))
	encStatic := seal(ek, sender.Public.Bytes())
	dh2, err := sender.Private.Agree(recipient)
	if err != nil {
		return nil, ErrInvalidKey
	}
	sk := derive(dh2[:], append(clone(ek.chain), encStatic...))
	encMsg := seal(sk, usmc)

	out := []byte{VersionV1}
	out = appendBytes(out, 1, eph.Public.Bytes())
	out = appendBytes(out, 2, encStatic)
	out = appendBytes(out, 3, encMsg)
	return out, nil
}

// Decrypt opens a sealed sender message with the recipient's identity key
// pair and returns its content: a v1 envelope (0x11), or a v2
// ReceivedMessage (0x22) as the server cut it from a multi-recipient sent
// message. It checks that the sender certificate carries the key the
// message was sealed with, but not the certificate's signatures or expiry:
// call Content.Sender.Validate, or use DecryptMessage, which does all.
func Decrypt(envelope []byte, recipient curve.KeyPair) (*Content, error) {
	if len(envelope) > 0 && envelope[0]>>4 == 2 {
		return open2(envelope, recipient)
	}
	usmc, staticBytes, err := open1(envelope, recipient)
	if err != nil {
		return nil, err
	}
	content, err := ParseContent(usmc)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(content.Sender.IdentityKey.Bytes(), staticBytes) != 1 {
		return nil, ErrInvalidMessage
	}
	return content, nil
}

// open1 authenticates and decrypts a v1 envelope: it returns the serialized
// content and the sender's identity key as encrypted in the envelope.
func open1(envelope []byte, recipient curve.KeyPair) (usmc, staticBytes []byte, err error) {
	if len(envelope) == 0 {
		return nil, nil, ErrInvalidMessage
	}
	switch envelope[0] >> 4 {
	case 0, 1: // libsignal accepts major version 0 as v1 too
	default:
		return nil, nil, ErrUnknownVersion
	}
	f, err := decodeFields(envelope[1:], map[protowire.Number]protowire.Type{
		1: protowire.BytesType, 2: protowire.BytesType, 3: protowire.BytesType,
	})
	if err != nil {
		return nil, nil, err
	}
	ef, ok1 := f[1]
	sf, ok2 := f[2]
	mf, ok3 := f[3]
	if !ok1 || !ok2 || !ok3 {
		return nil, nil, ErrInvalidProtobuf
	}
	ephPub, err := curve.ParsePublicKey(ef.b)
	if err != nil {
		return nil, nil, ErrInvalidKey
	}
	dh, err := recipient.Private.Agree(ephPub)
	if err != nil {
		return nil, nil, ErrInvalidKey
	}
	ek := derive(dh[:], ephemeralSalt(recipient.Public, ephPub))
	staticBytes, ok := open(ek, sf.b)
	if !ok {
		return nil, nil, ErrInvalidMessage
	}
	senderPub, err := curve.ParsePublicKey(staticBytes)
	if err != nil {
		return nil, nil, ErrInvalidKey
	}
	dh2, err := recipient.Private.Agree(senderPub)
	if err != nil {
		return nil, nil, ErrInvalidKey
	}
	sk := derive(dh2[:], append(clone(ek.chain), sf.b...))
	usmc, ok = open(sk, mf.b)
	if !ok {
		return nil, nil, ErrInvalidMessage
	}
	return usmc, staticBytes, nil
}
