package client

import (
	"crypto/rand"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/types"
)

// SealProvisioning makes a provisioning message for the device showing
// uri as a primary would, but with the vouch signed by signer while
// claiming primary: tests forge and tamper with it.
func SealProvisioning(uri, code string, account types.AccountID, phone string, primary curve.PublicKey, signer curve.PrivateKey) ([]byte, error) {
	l, err := parseLinkURI(uri)
	if err != nil {
		return nil, err
	}
	sig, err := signer.Sign(rand.Reader, DeviceVouch(account, l.identity))
	if err != nil {
		return nil, err
	}
	return sealProvisioning(l, &provisioning{code: code, account: account, phone: phone, primary: primary, signature: sig[:]})
}

// ProvisioningAddress is the address part of a link URI.
func ProvisioningAddress(uri string) string {
	l, _ := parseLinkURI(uri)
	return l.addr
}
