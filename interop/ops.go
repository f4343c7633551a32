package interop

import "encoding/json"

// The types and methods below are thin typed wrappers over Call, one per
// oracle operation; interop/README.md is the reference for the fields. A Go
// driver (cmd/parley-e2ee) will answer the same operations.

// Address is a libsignal protocol address: a name and a device id (1..127).
type Address struct {
	Name     string `json:"name"`
	DeviceID uint32 `json:"deviceId"`
}

// Party is what newParty and importState report about a party.
type Party struct {
	Party          string `json:"party"` // the handle later requests name it by
	Name           string `json:"name"`
	DeviceID       uint32 `json:"deviceId"`
	IdentityKey    []byte `json:"identityKey"` // 0x05‖32
	RegistrationID uint32 `json:"registrationId"`
}

// Address is the party's own protocol address.
func (p Party) Address() Address { return Address{Name: p.Name, DeviceID: p.DeviceID} }

// NewPartyArgs are newParty's arguments; only Name and DeviceID are required.
type NewPartyArgs struct {
	Name               string `json:"name"`
	DeviceID           uint32 `json:"deviceId"`
	Party              string `json:"party,omitempty"`              // handle; defaults to Name
	RegistrationID     uint32 `json:"registrationId,omitempty"`     // defaults to a random 1..16380
	IdentityPrivateKey []byte `json:"identityPrivateKey,omitempty"` // 32 bytes; defaults to a fresh key
}

// Bundle is a full prekey bundle, as bundle returns and processBundle takes.
// PreKeyID and PreKey are both set or both absent.
type Bundle struct {
	RegistrationID        uint32  `json:"registrationId"`
	DeviceID              uint32  `json:"deviceId"`
	PreKeyID              *uint32 `json:"preKeyId,omitempty"`
	PreKey                []byte  `json:"preKey,omitempty"`
	SignedPreKeyID        uint32  `json:"signedPreKeyId"`
	SignedPreKey          []byte  `json:"signedPreKey"`
	SignedPreKeySignature []byte  `json:"signedPreKeySignature"`
	IdentityKey           []byte  `json:"identityKey"`
	KyberPreKeyID         uint32  `json:"kyberPreKeyId"`
	KyberPreKey           []byte  `json:"kyberPreKey"` // 0x08‖1568
	KyberPreKeySignature  []byte  `json:"kyberPreKeySignature"`
}

// Ciphertext is an encrypted message and its type (TypeWhisper, TypePreKey,
// TypeSenderKey).
type Ciphertext struct {
	Type       int    `json:"type"`
	Ciphertext []byte `json:"ciphertext"`
}

// Inspection is what inspect reads from a message: the union of the fields of
// the three message types, each filled only for its type. Fields libsignal's
// Node API does not expose come from the oracle's own protobuf reading.
type Inspection struct {
	Type           int   `json:"type"`
	MessageVersion int   `json:"messageVersion"` // high nibble of the version byte
	VersionByte    uint8 `json:"versionByte"`
	UnknownFields  []int `json:"unknownFields,omitempty"` // protobuf field numbers the format does not define

	// SignalMessage (TypeWhisper), also Message of a PreKeySignalMessage.
	RatchetKey      []byte `json:"ratchetKey,omitempty"`
	Counter         uint32 `json:"counter"`
	PreviousCounter uint32 `json:"previousCounter"`
	Body            []byte `json:"body,omitempty"`      // AES-CBC ciphertext (Whisper and SenderKey)
	PQRatchet       []byte `json:"pqRatchet,omitempty"` // empty: no SPQR
	Addresses       []byte `json:"addresses,omitempty"`
	MAC             []byte `json:"mac,omitempty"`

	// PreKeySignalMessage (TypePreKey).
	RegistrationID  uint32      `json:"registrationId"`
	PreKeyID        *uint32     `json:"preKeyId,omitempty"`
	SignedPreKeyID  uint32      `json:"signedPreKeyId"`
	KyberPreKeyID   *uint32     `json:"kyberPreKeyId,omitempty"`
	KyberCiphertext []byte      `json:"kyberCiphertext,omitempty"`
	BaseKey         []byte      `json:"baseKey,omitempty"`
	IdentityKey     []byte      `json:"identityKey,omitempty"`
	Message         *Inspection `json:"message,omitempty"`

	// SenderKeyMessage (TypeSenderKey).
	DistributionID string `json:"distributionId,omitempty"`
	ChainID        uint32 `json:"chainId"`
	Iteration      uint32 `json:"iteration"`
	Signature      []byte `json:"signature,omitempty"`
}

// SKDMInspection is what inspectSkdm reads from a SenderKeyDistributionMessage.
type SKDMInspection struct {
	MessageVersion int    `json:"messageVersion"`
	VersionByte    uint8  `json:"versionByte"`
	DistributionID string `json:"distributionId"`
	ChainID        uint32 `json:"chainId"`
	Iteration      uint32 `json:"iteration"`
	ChainKey       []byte `json:"chainKey"`
	SigningKey     []byte `json:"signingKey"`
	UnknownFields  []int  `json:"unknownFields,omitempty"`
}

// Fingerprint is a safety number in both forms.
type Fingerprint struct {
	Displayable string `json:"displayable"` // 60 digits
	Scannable   []byte `json:"scannable"`   // CombinedFingerprints protobuf
}

// FingerprintArgs are fingerprint's arguments.
type FingerprintArgs struct {
	Iterations int    `json:"iterations"`
	Version    int    `json:"version"`
	LocalID    []byte `json:"localId"`
	LocalKey   []byte `json:"localKey"`
	RemoteID   []byte `json:"remoteId"`
	RemoteKey  []byte `json:"remoteKey"`
}

// KyberUse is one markKyberPreKeyUsed call libsignal made on a party's store.
type KyberUse struct {
	KyberPreKeyID  uint32 `json:"kyberPreKeyId"`
	SignedPreKeyID uint32 `json:"signedPreKeyId"`
	BaseKey        []byte `json:"baseKey"`
}

// SessionInfo is what sessionInfo reports about a party's session with a peer.
type SessionInfo struct {
	Exists               bool   `json:"exists"`
	HasCurrentState      bool   `json:"hasCurrentState"`
	LocalRegistrationID  uint32 `json:"localRegistrationId"`
	RemoteRegistrationID uint32 `json:"remoteRegistrationId"`
	Record               []byte `json:"record,omitempty"` // libsignal's serialized SessionRecord
}

// NewParty creates a libsignal party with a fresh identity.
func (o *Oracle) NewParty(name string, deviceID uint32) (Party, error) {
	return o.NewPartyWith(NewPartyArgs{Name: name, DeviceID: deviceID})
}

// NewPartyWith creates a libsignal party with the given options.
func (o *Oracle) NewPartyWith(args NewPartyArgs) (Party, error) {
	var p Party
	err := o.Call("newParty", args, &p)
	return p, err
}

// Bundle makes party publish a new prekey bundle (signed prekey and Kyber
// prekey, plus a one-time prekey when withOneTime), keeping the private parts.
func (o *Oracle) Bundle(party string, withOneTime bool) (Bundle, error) {
	var b Bundle
	err := o.Call("bundle", map[string]any{"party": party, "withOneTime": withOneTime}, &b)
	return b, err
}

// ProcessBundle starts a session from party to peer with peer's bundle.
func (o *Oracle) ProcessBundle(party string, peer Address, b Bundle) error {
	return o.Call("processBundle", map[string]any{"party": party, "peer": peer, "bundle": b}, nil)
}

// Encrypt encrypts plaintext from party to peer over their session.
func (o *Oracle) Encrypt(party string, peer Address, plaintext []byte) (Ciphertext, error) {
	var c Ciphertext
	err := o.Call("encrypt", map[string]any{"party": party, "peer": peer, "plaintext": plaintext}, &c)
	return c, err
}

// Decrypt decrypts a message peer sent to party.
func (o *Oracle) Decrypt(party string, peer Address, c Ciphertext) ([]byte, error) {
	var r struct {
		Plaintext []byte `json:"plaintext"`
	}
	err := o.Call("decrypt", map[string]any{"party": party, "peer": peer, "type": c.Type, "ciphertext": c.Ciphertext}, &r)
	return r.Plaintext, err
}

// SKDM makes party's SenderKeyDistributionMessage for a distribution (a UUID
// string), creating its sender key on first use.
func (o *Oracle) SKDM(party, distributionID string) ([]byte, error) {
	var r struct {
		SKDM []byte `json:"skdm"`
	}
	err := o.Call("skdm", map[string]any{"party": party, "distributionId": distributionID}, &r)
	return r.SKDM, err
}

// ProcessSKDM stores sender's sender key, from its SKDM, at party.
func (o *Oracle) ProcessSKDM(party string, sender Address, skdm []byte) error {
	return o.Call("processSkdm", map[string]any{"party": party, "sender": sender, "skdm": skdm}, nil)
}

// GroupEncrypt encrypts plaintext with party's sender key for a distribution.
func (o *Oracle) GroupEncrypt(party, distributionID string, plaintext []byte) ([]byte, error) {
	var c Ciphertext
	err := o.Call("groupEncrypt", map[string]any{"party": party, "distributionId": distributionID, "plaintext": plaintext}, &c)
	return c.Ciphertext, err
}

// GroupDecrypt decrypts a SenderKeyMessage from sender at party.
func (o *Oracle) GroupDecrypt(party string, sender Address, ciphertext []byte) ([]byte, error) {
	var r struct {
		Plaintext []byte `json:"plaintext"`
	}
	err := o.Call("groupDecrypt", map[string]any{"party": party, "sender": sender, "ciphertext": ciphertext}, &r)
	return r.Plaintext, err
}

// Fingerprint computes a safety number.
func (o *Oracle) Fingerprint(args FingerprintArgs) (Fingerprint, error) {
	var f Fingerprint
	err := o.Call("fingerprint", args, &f)
	return f, err
}

// FingerprintCompare compares two scannable fingerprints as libsignal does
// (each side's local half against the other's remote half).
func (o *Oracle) FingerprintCompare(scannable, other []byte) (bool, error) {
	var r struct {
		Match bool `json:"match"`
	}
	err := o.Call("fingerprintCompare", map[string]any{"scannable": scannable, "other": other}, &r)
	return r.Match, err
}

// Sign signs message (XEdDSA) with party's identity key.
func (o *Oracle) Sign(party string, message []byte) ([]byte, error) {
	return o.sign(map[string]any{"party": party, "message": message})
}

// SignWithKey signs message (XEdDSA) with a raw 32-byte private key.
func (o *Oracle) SignWithKey(privateKey, message []byte) ([]byte, error) {
	return o.sign(map[string]any{"privateKey": privateKey, "message": message})
}

func (o *Oracle) sign(args map[string]any) ([]byte, error) {
	var r struct {
		Signature []byte `json:"signature"`
	}
	err := o.Call("sign", args, &r)
	return r.Signature, err
}

// Verify checks an XEdDSA signature with a 0x05‖32 public key.
func (o *Oracle) Verify(publicKey, message, signature []byte) (bool, error) {
	var r struct {
		Valid bool `json:"valid"`
	}
	err := o.Call("verify", map[string]any{"publicKey": publicKey, "message": message, "signature": signature}, &r)
	return r.Valid, err
}

// HKDF is libsignal's HKDF-SHA256; a nil salt is no salt.
func (o *Oracle) HKDF(length int, ikm, info, salt []byte) ([]byte, error) {
	var r struct {
		OKM []byte `json:"okm"`
	}
	err := o.Call("hkdf", map[string]any{"length": length, "ikm": ikm, "info": info, "salt": salt}, &r)
	return r.OKM, err
}

// Inspect parses a message of the given type and reports its fields.
func (o *Oracle) Inspect(c Ciphertext) (Inspection, error) {
	var r Inspection
	err := o.Call("inspect", c, &r)
	return r, err
}

// InspectSKDM parses a SenderKeyDistributionMessage and reports its fields.
func (o *Oracle) InspectSKDM(skdm []byte) (SKDMInspection, error) {
	var r SKDMInspection
	err := o.Call("inspectSkdm", map[string]any{"skdm": skdm}, &r)
	return r, err
}

// SessionInfo reports on party's session with peer.
func (o *Oracle) SessionInfo(party string, peer Address) (SessionInfo, error) {
	var r SessionInfo
	err := o.Call("sessionInfo", map[string]any{"party": party, "peer": peer}, &r)
	return r, err
}

// KyberUsed lists the markKyberPreKeyUsed calls libsignal made on party's store.
func (o *Oracle) KyberUsed(party string) ([]KyberUse, error) {
	var r struct {
		Calls []KyberUse `json:"calls"`
	}
	err := o.Call("kyberUsed", map[string]any{"party": party}, &r)
	return r.Calls, err
}

// ExportState returns party's whole state (identity, stores, records) as an
// opaque JSON object that ImportState restores, in this oracle or a new one.
func (o *Oracle) ExportState(party string) (json.RawMessage, error) {
	var r struct {
		State json.RawMessage `json:"state"`
	}
	err := o.Call("exportState", map[string]any{"party": party}, &r)
	return r.State, err
}

// ImportState creates or replaces the party with handle party (the state's
// name when empty) from an exported state.
func (o *Oracle) ImportState(party string, state json.RawMessage) (Party, error) {
	args := map[string]any{"state": state}
	if party != "" {
		args["party"] = party
	}
	var p Party
	err := o.Call("importState", args, &p)
	return p, err
}

// SaveIdentity stores identityKey as peer's identity at party, as if party had
// accepted a new safety number; it reports whether it replaced another key.
func (o *Oracle) SaveIdentity(party string, peer Address, identityKey []byte) (bool, error) {
	var r struct {
		Replaced bool `json:"replaced"`
	}
	err := o.Call("saveIdentity", map[string]any{"party": party, "peer": peer, "identityKey": identityKey}, &r)
	return r.Replaced, err
}
