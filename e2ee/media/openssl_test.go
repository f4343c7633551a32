package media_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/parley-im/parley/e2ee/media"
)

// TestVectorsOpenSSL recomputes the golden vectors with the openssl
// command (HKDF, AES-256-CBC, HMAC-SHA256), code we did not write.
func TestVectorsOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	run := func(stdin []byte, args ...string) []byte {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("openssl %s: %v (an openssl without this command)", args[0], err)
		}
		return out
	}
	for _, v := range vs {
		kdf := run(nil, "kdf", "-keylen", "112", "-kdfopt", "digest:SHA256", "-kdfopt", "hexkey:"+v.Key,
			"-kdfopt", "info:"+v.Kind.Info(), "HKDF")
		keys := unhex(t, strings.ReplaceAll(strings.TrimSpace(string(kdf)), ":", ""))
		iv, aesKey, macKey := keys[:16], keys[16:48], keys[48:80]
		ct := run(unhex(t, v.Plaintext), "enc", "-aes-256-cbc", "-K", hex.EncodeToString(aesKey), "-iv", hex.EncodeToString(iv))
		mac := run(append(bytes.Clone(iv), ct...), "dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:"+hex.EncodeToString(macKey), "-binary")
		if got := hex.EncodeToString(append(ct, mac[:media.MACSize]...)); got != v.Blob {
			t.Errorf("kind %d, %d bytes: openssl makes %s, the vector says %s", v.Kind, len(v.Plaintext)/2, got, v.Blob)
		}
	}
}
