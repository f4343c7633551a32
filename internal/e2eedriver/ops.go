package e2eedriver

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math"
	"math/big"
	"runtime"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/fingerprint"
	"github.com/parley-im/parley/e2ee/kem"
	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/e2ee/session"
)

// LibsignalVersion is the libsignal release whose wire format the driver
// speaks, as the version op reports it.
const LibsignalVersion = "0.103.0"

// Ciphertext message types, numbered as libsignal numbers them.
const typeSenderKey = 7

type handler func(d *Driver, a *argReader) (any, error)

// handlers are the operations, by name. close is handled by the loop.
var handlers = map[string]handler{
	"version":                   (*Driver).version,
	"newParty":                  (*Driver).newParty,
	"bundle":                    (*Driver).bundle,
	"processBundle":             (*Driver).processBundle,
	"encrypt":                   (*Driver).encrypt,
	"decrypt":                   (*Driver).decrypt,
	"skdm":                      (*Driver).skdm,
	"processSkdm":               (*Driver).processSkdm,
	"groupEncrypt":              (*Driver).groupEncrypt,
	"groupDecrypt":              (*Driver).groupDecrypt,
	"fingerprint":               (*Driver).fingerprint,
	"fingerprintCompare":        (*Driver).fingerprintCompare,
	"sign":                      (*Driver).sign,
	"verify":                    (*Driver).verify,
	"hkdf":                      (*Driver).hkdf,
	"identity":                  (*Driver).identity,
	"saveIdentity":              (*Driver).saveIdentity,
	"kyberUsed":                 (*Driver).kyberUsed,
	"exportState":               (*Driver).exportState,
	"importState":               (*Driver).importState,
	"serverCertificate":         (*Driver).serverCertificate,
	"senderCertificate":         (*Driver).senderCertificate,
	"validateSenderCertificate": (*Driver).validateSenderCertificate,
	"sealedEncrypt":             (*Driver).sealedEncrypt,
	"sealedDecrypt":             (*Driver).sealedDecrypt,
	"sealedOpen":                (*Driver).sealedOpen,
	"sealedMultiEncrypt":        (*Driver).sealedMultiEncrypt,
	"sealedMultiSplit":          (*Driver).sealedMultiSplit,
	"inspect":                   oracleOnly("inspect"),
	"inspectSkdm":               oracleOnly("inspectSkdm"),
	"sessionInfo":               oracleOnly("sessionInfo"),
}

// oracleOnly answers the oracle's test probes, which read libsignal's own
// message and record formats and have no counterpart here.
func oracleOnly(name string) handler {
	return func(*Driver, *argReader) (any, error) {
		return nil, notImplemented(name + " is an oracle-only operation")
	}
}

// ctx is the context of every store call: requests are served one at a
// time and never cancelled.
var ctx = context.Background()

func (d *Driver) party(a *argReader, key string) *party {
	h := a.str(key)
	if a.err != nil {
		return nil
	}
	p, ok := d.parties[h]
	if !ok {
		a.fail(badRequest("unknown party %q", h))
	}
	return p
}

// version names the implementation. It has no "libsignal" field, which the
// oracle's answer has: that is how a caller tells the two apart.
func (d *Driver) version(*argReader) (any, error) {
	return map[string]string{"implementation": "parley", "go": runtime.Version(), "libsignalCompat": LibsignalVersion}, nil
}

func (d *Driver) newParty(a *argReader) (any, error) {
	name := a.str("name")
	dev := a.int("deviceId")
	handle := name
	if a.has("party") {
		handle = a.str("party")
	}
	if a.err != nil {
		return nil, a.err
	}
	if _, exists := d.parties[handle]; exists {
		return nil, badRequest("party %q already exists", handle)
	}
	regID := uint32(0)
	if a.has("registrationId") {
		regID = a.u32("registrationId")
	} else {
		n, err := rand.Int(d.rand, big.NewInt(16380))
		if err != nil {
			return nil, err
		}
		regID = 1 + uint32(n.Int64())
	}
	var priv []byte
	if a.has("identityPrivateKey") {
		priv = a.bytes("identityPrivateKey")
	}
	if a.err != nil {
		return nil, a.err
	}
	if dev < 1 || dev > session.MaxDeviceID {
		return nil, invalidAddress(name, dev)
	}
	var identity curve.KeyPair
	if priv != nil {
		k, err := curve.ParsePrivateKey(priv)
		if err != nil {
			return nil, inOp("curve.ParsePrivateKey", err)
		}
		identity = curve.KeyPair{Private: k, Public: k.PublicKey()}
	} else {
		var err error
		if identity, err = curve.GenerateKeyPair(d.rand); err != nil {
			return nil, inOp("curve.GenerateKeyPair", err)
		}
	}
	p := newParty(session.Address{Name: name, DeviceID: uint32(dev)}, regID, identity)
	d.parties[handle] = p
	return p.summary(handle), nil
}

// bundleJSON is a prekey bundle as the oracle writes and reads it.
type bundleJSON struct {
	RegistrationID        uint32  `json:"registrationId"`
	DeviceID              uint32  `json:"deviceId"`
	PreKeyID              *uint32 `json:"preKeyId,omitempty"`
	PreKey                Bytes   `json:"preKey,omitempty"`
	SignedPreKeyID        uint32  `json:"signedPreKeyId"`
	SignedPreKey          Bytes   `json:"signedPreKey"`
	SignedPreKeySignature Bytes   `json:"signedPreKeySignature"`
	IdentityKey           Bytes   `json:"identityKey"`
	KyberPreKeyID         uint32  `json:"kyberPreKeyId"`
	KyberPreKey           Bytes   `json:"kyberPreKey"`
	KyberPreKeySignature  Bytes   `json:"kyberPreKeySignature"`
}

// nextID is the id the caller asked for or the party's next one; either way
// later defaults stay above it so that keys are never silently replaced.
func nextID(a *argReader, counter *uint64, key string) (id uint32, commit func()) {
	n := *counter
	if a.has(key) {
		n = uint64(a.u32(key))
	} else if n > math.MaxUint32 {
		a.fail(badRequest("no %s left: name one", key))
	}
	return uint32(n), func() { *counter = max(*counter, n+1) }
}

// bundle makes fresh prekeys and publishes them. Its Kyber prekeys are
// last-resort keys: kept after use, as the oracle keeps them, with the
// replay check that libsignal leaves to the application.
func (d *Driver) bundle(a *argReader) (any, error) {
	p := d.party(a, "party")
	if a.err != nil {
		return nil, a.err
	}
	ts := a.when("timestamp", d.now())
	oneTime := a.flag("withOneTime")
	var preID uint32
	commitPre := func() {}
	if oneTime {
		preID, commitPre = nextID(a, &p.nextPreKeyID, "preKeyId")
	}
	spkID, commitSPK := nextID(a, &p.nextSignedPreKeyID, "signedPreKeyId")
	kyID, commitKy := nextID(a, &p.nextKyberPreKeyID, "kyberPreKeyId")
	if a.err != nil {
		return nil, a.err
	}
	var pre *session.PreKeyRecord
	if oneTime {
		r, err := session.NewPreKey(d.rand, preID)
		if err != nil {
			return nil, inOp("session.NewPreKey", err)
		}
		pre = &r
	}
	spk, err := session.NewSignedPreKey(d.rand, p.identity, spkID, ts)
	if err != nil {
		return nil, inOp("session.NewSignedPreKey", err)
	}
	ky, err := session.NewKyberPreKey(d.rand, p.identity, kyID, ts, true)
	if err != nil {
		return nil, inOp("session.NewKyberPreKey", err)
	}
	// Only now, with every key made, does the party change.
	if pre != nil {
		p.storePreKey(*pre)
		commitPre()
	}
	p.storeSignedPreKey(spk)
	commitSPK()
	p.storeKyberPreKey(ky)
	commitKy()
	b := session.NewBundle(p.regID, p.addr.DeviceID, p.identity.Public, pre, spk, ky)
	out := bundleJSON{
		RegistrationID:        b.RegistrationID,
		DeviceID:              b.DeviceID,
		SignedPreKeyID:        b.SignedPreKeyID,
		SignedPreKey:          b.SignedPreKey.Bytes(),
		SignedPreKeySignature: b.SignedPreKeySignature,
		IdentityKey:           b.IdentityKey.Bytes(),
		KyberPreKeyID:         b.KyberPreKeyID,
		KyberPreKey:           b.KyberPreKey.Bytes(),
		KyberPreKeySignature:  b.KyberPreKeySignature,
	}
	if b.PreKey != nil {
		id := b.PreKeyID
		out.PreKeyID, out.PreKey = &id, b.PreKey.Bytes()
	}
	return out, nil
}

func (d *Driver) processBundle(a *argReader) (any, error) {
	p := d.party(a, "party")
	peer := a.address("peer")
	ba := a.object("bundle")
	preKeyID, hasPreKeyID := ba.optU32("preKeyId")
	preKey := ba.optBytes("preKey")
	if ba.err == nil && hasPreKeyID != (preKey != nil) {
		ba.fail(badRequest("args.bundle: preKeyId and preKey go together"))
	}
	b := session.Bundle{
		RegistrationID: ba.u32("registrationId"),
		DeviceID:       peer.DeviceID,
		PreKeyID:       preKeyID,
	}
	if ba.has("deviceId") {
		b.DeviceID = ba.u32("deviceId")
	}
	b.SignedPreKeyID = ba.u32("signedPreKeyId")
	spk := ba.bytes("signedPreKey")
	b.SignedPreKeySignature = ba.bytes("signedPreKeySignature")
	identity := ba.bytes("identityKey")
	b.KyberPreKeyID = ba.u32("kyberPreKeyId")
	kyber := ba.bytes("kyberPreKey")
	b.KyberPreKeySignature = ba.bytes("kyberPreKeySignature")
	a.merge(ba)
	now := a.when("now", d.now())
	if a.err != nil {
		return nil, a.err
	}
	var err error
	if preKey != nil {
		k, err := curve.ParsePublicKey(preKey)
		if err != nil {
			return nil, inOp("curve.ParsePublicKey", err)
		}
		b.PreKey = &k
	}
	if b.SignedPreKey, err = curve.ParsePublicKey(spk); err != nil {
		return nil, inOp("curve.ParsePublicKey", err)
	}
	if b.IdentityKey, err = curve.ParsePublicKey(identity); err != nil {
		return nil, inOp("curve.ParsePublicKey", err)
	}
	if b.KyberPreKey, err = kem.ParsePublicKey(kyber); err != nil {
		return nil, inOp("kem.ParsePublicKey", err)
	}
	return nil, inOp("session.ProcessBundle", session.ProcessBundle(ctx, p.st, peer, b, now, d.rand))
}

type ciphertextJSON struct {
	Type       int   `json:"type"`
	Ciphertext Bytes `json:"ciphertext"`
}

type plaintextJSON struct {
	Plaintext Bytes `json:"plaintext"`
}

func (d *Driver) encrypt(a *argReader) (any, error) {
	p := d.party(a, "party")
	pt := a.payload("plaintext")
	peer := a.address("peer")
	now := a.when("now", d.now())
	if a.err != nil {
		return nil, a.err
	}
	c, err := session.Encrypt(ctx, p.st, peer, pt, now)
	if err != nil {
		return nil, inOp("session.Encrypt", err)
	}
	return ciphertextJSON{Type: int(c.Type), Ciphertext: c.Body}, nil
}

func (d *Driver) decrypt(a *argReader) (any, error) {
	p := d.party(a, "party")
	peer := a.address("peer")
	typ := a.int("type")
	ct := a.bytes("ciphertext")
	if a.err != nil {
		return nil, a.err
	}
	var pt []byte
	var err error
	switch session.MessageType(typ) {
	case session.TypePreKey:
		pt, err = session.DecryptPreKey(ctx, p.st, peer, ct)
		err = inOp("session.DecryptPreKey", err)
	case session.TypeSignal:
		pt, err = session.DecryptSignal(ctx, p.st, peer, ct)
		err = inOp("session.DecryptSignal", err)
	default:
		return nil, badRequest("args.type must be %d (Whisper) or %d (PreKey), not %d", session.TypeSignal, session.TypePreKey, typ)
	}
	if err != nil {
		return nil, err
	}
	return plaintextJSON{Plaintext: pt}, nil
}

func (d *Driver) skdm(a *argReader) (any, error) {
	p := d.party(a, "party")
	dist := a.distribution("distributionId")
	if a.err != nil {
		return nil, a.err
	}
	m, err := senderkey.CreateDistribution(ctx, p.senders, p.addr, dist, d.rand)
	if err != nil {
		return nil, inOp("senderkey.CreateDistribution", err)
	}
	return map[string]Bytes{"skdm": m}, nil
}

func (d *Driver) processSkdm(a *argReader) (any, error) {
	p := d.party(a, "party")
	m := a.bytes("skdm")
	sender := a.address("sender")
	if a.err != nil {
		return nil, a.err
	}
	return nil, inOp("senderkey.ProcessDistribution", senderkey.ProcessDistribution(ctx, p.senders, sender, m))
}

func (d *Driver) groupEncrypt(a *argReader) (any, error) {
	p := d.party(a, "party")
	dist := a.distribution("distributionId")
	pt := a.payload("plaintext")
	if a.err != nil {
		return nil, a.err
	}
	c, err := senderkey.Encrypt(ctx, p.senders, p.addr, dist, pt, d.rand)
	if err != nil {
		return nil, inOp("senderkey.Encrypt", err)
	}
	return ciphertextJSON{Type: typeSenderKey, Ciphertext: c}, nil
}

func (d *Driver) groupDecrypt(a *argReader) (any, error) {
	p := d.party(a, "party")
	sender := a.address("sender")
	ct := a.bytes("ciphertext")
	if a.err != nil {
		return nil, a.err
	}
	pt, err := senderkey.Decrypt(ctx, p.senders, sender, ct)
	if err != nil {
		return nil, inOp("senderkey.Decrypt", err)
	}
	return plaintextJSON{Plaintext: pt}, nil
}

func (d *Driver) fingerprint(a *argReader) (any, error) {
	iterations := a.int("iterations")
	version := a.u32("version")
	localID := a.payload("localId")
	localKey := a.bytes("localKey")
	remoteID := a.payload("remoteId")
	remoteKey := a.bytes("remoteKey")
	if a.err != nil {
		return nil, a.err
	}
	// The oracle parses both keys first, so a bad key fails as a bad key
	// whatever the iteration count.
	for _, k := range [][]byte{localKey, remoteKey} {
		if _, err := curve.ParsePublicKey(k); err != nil {
			return nil, inOp("curve.ParsePublicKey", err)
		}
	}
	f, err := fingerprint.New(int(min(iterations, math.MaxInt32)), version, localID, localKey, remoteID, remoteKey)
	if err != nil {
		return nil, inOp("fingerprint.New", err)
	}
	return struct {
		Displayable string `json:"displayable"`
		Scannable   Bytes  `json:"scannable"`
	}{f.Displayable(), f.Scannable()}, nil
}

func (d *Driver) fingerprintCompare(a *argReader) (any, error) {
	mine := a.bytes("scannable")
	other := a.bytes("other")
	if a.err != nil {
		return nil, a.err
	}
	match, err := compareScannable(mine, other)
	if err != nil {
		return nil, inOp("fingerprintCompare", err)
	}
	return map[string]bool{"match": match}, nil
}

func (d *Driver) sign(a *argReader) (any, error) {
	var key curve.PrivateKey
	switch {
	case a.has("party"):
		if p := d.party(a, "party"); p != nil {
			key = p.identity.Private
		}
	case a.has("privateKey"):
		b := a.bytes("privateKey")
		if a.err != nil {
			return nil, a.err
		}
		k, err := curve.ParsePrivateKey(b)
		if err != nil {
			return nil, inOp("curve.ParsePrivateKey", err)
		}
		key = k
	default:
		a.fail(badRequest("args.party or args.privateKey is required"))
	}
	msg := a.payload("message")
	if a.err != nil {
		return nil, a.err
	}
	sig, err := key.Sign(d.rand, msg)
	if err != nil {
		return nil, inOp("curve.Sign", err)
	}
	return map[string]Bytes{"signature": sig[:]}, nil
}

func (d *Driver) verify(a *argReader) (any, error) {
	pub := a.bytes("publicKey")
	msg := a.payload("message")
	sig := a.payload("signature")
	if a.err != nil {
		return nil, a.err
	}
	k, err := curve.ParsePublicKey(pub)
	if err != nil {
		return nil, inOp("curve.ParsePublicKey", err)
	}
	return map[string]bool{"valid": k.Verify(msg, sig)}, nil
}

func (d *Driver) hkdf(a *argReader) (any, error) {
	length := a.int("length")
	ikm := a.payload("ikm")
	info := a.payload("info")
	salt := a.optBytes("salt")
	if a.err != nil {
		return nil, a.err
	}
	if length > 255*sha256.Size {
		return nil, inOp("hkdf.Key", fmt.Errorf("invalid argument: output too long (%d)", length))
	}
	if length == 0 {
		return map[string]Bytes{"okm": {}}, nil
	}
	okm, err := hkdf.Key(sha256.New, ikm, salt, string(info), int(length))
	if err != nil {
		return nil, inOp("hkdf.Key", err)
	}
	return map[string]Bytes{"okm": okm}, nil
}

func (d *Driver) identity(a *argReader) (any, error) {
	p := d.party(a, "party")
	peer := a.address("peer")
	if a.err != nil {
		return nil, a.err
	}
	k, ok, err := p.st.Identity.Identity(ctx, peer)
	if err != nil {
		return nil, inOp("Identity", err)
	}
	if !ok {
		return struct{}{}, nil
	}
	return map[string]Bytes{"identityKey": k.Bytes()}, nil
}

func (d *Driver) saveIdentity(a *argReader) (any, error) {
	p := d.party(a, "party")
	key := a.bytes("identityKey")
	peer := a.address("peer")
	if a.err != nil {
		return nil, a.err
	}
	k, err := curve.ParsePublicKey(key)
	if err != nil {
		return nil, inOp("curve.ParsePublicKey", err)
	}
	replaced, err := p.st.Identity.SaveIdentity(ctx, peer, k)
	if err != nil {
		return nil, inOp("SaveIdentity", err)
	}
	return map[string]bool{"replaced": replaced}, nil
}

func (d *Driver) kyberUsed(a *argReader) (any, error) {
	p := d.party(a, "party")
	if a.err != nil {
		return nil, a.err
	}
	calls := append([]kyberUse{}, p.kyberUsed...)
	return map[string][]kyberUse{"calls": calls}, nil
}

func (d *Driver) exportState(a *argReader) (any, error) {
	p := d.party(a, "party")
	if a.err != nil {
		return nil, a.err
	}
	st, err := p.export(ctx)
	if err != nil {
		return nil, inOp("exportState", err)
	}
	return map[string]*state{"state": st}, nil
}

func (d *Driver) importState(a *argReader) (any, error) {
	sa := a.object("state")
	if a.err != nil {
		return nil, a.err
	}
	p, err := importParty(ctx, sa)
	if err != nil {
		return nil, err
	}
	handle := p.addr.Name
	if a.has("party") {
		handle = a.str("party")
	}
	if a.err != nil {
		return nil, a.err
	}
	d.parties[handle] = p
	return p.summary(handle), nil
}
