package e2eedriver

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/interop"
)

// serve runs a fresh driver on the given input and returns its answer lines.
func serve(t *testing.T, input string) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	if err := New().Serve(strings.NewReader(input), &out); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	var answers []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var a map[string]any
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("answer %q is not JSON: %v", line, err)
		}
		answers = append(answers, a)
	}
	return answers
}

// TestConversation is the whole scenario between two in-process drivers,
// without Node: our implementation against itself.
func TestConversation(t *testing.T) {
	conversation(t, goImpl, goImpl)
}

func TestRefusals(t *testing.T) {
	refusals(t, goImpl, goImpl)
}

// TestFraming checks the line protocol itself: ids copied verbatim, one
// answer per request in order, blank lines skipped, close ends the session.
func TestFraming(t *testing.T) {
	in := strings.Join([]string{
		`{"id":1,"op":"version"}`,
		``,
		`   `,
		`{"id":"two","op":"version","args":null}` + "\r",
		`{"op":"version"}`,
		`{"id":{"nested":[1,2]},"op":"nope"}`,
		`not json`,
		`[1,2]`,
		`{"id":7,"op":42}`,
		`{"id":8,"op":"version","args":[1]}`,
		`{"id":9,"op":"sealedDecrypt","args":{}}`,
		`{"id":10,"op":"inspect","args":{}}`,
		`{"id":11,"op":"close"}`,
		`{"id":12,"op":"version"}`,
	}, "\n")
	got := serve(t, in)
	want := []struct {
		id    any
		ok    bool
		error string
	}{
		{1.0, true, ""},
		{"two", true, ""},
		{nil, true, ""},
		{map[string]any{"nested": []any{1.0, 2.0}}, false, `BadRequest: unknown op "nope"`},
		{nil, false, "BadRequest: request is not JSON"},
		{nil, false, `BadRequest: request needs an "op" string`},
		{7.0, false, `BadRequest: request needs an "op" string`},
		{8.0, false, `BadRequest: "args" must be an object`},
		{9.0, false, "BadRequest: args.party is required"},
		{10.0, false, "NotImplemented: inspect is an oracle-only operation"},
		{11.0, true, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d answers, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		a := got[i]
		idJSON, _ := json.Marshal(a["id"])
		wantJSON, _ := json.Marshal(w.id)
		if _, has := a["id"]; !has || !bytes.Equal(idJSON, wantJSON) {
			t.Errorf("answer %d: id %s, want %s", i, idJSON, wantJSON)
		}
		if a["ok"] != w.ok {
			t.Errorf("answer %d: ok %v, want %v (%v)", i, a["ok"], w.ok, a)
		}
		if e, _ := a["error"].(string); !strings.HasPrefix(e, w.error) {
			t.Errorf("answer %d: error %q, want %q...", i, e, w.error)
		}
		if w.ok {
			if _, has := a["result"].(map[string]any); !has {
				t.Errorf("answer %d: no result object: %v", i, a)
			}
		}
	}
	v := got[0]["result"].(map[string]any)
	if v["implementation"] != "parley" || v["libsignalCompat"] != LibsignalVersion {
		t.Errorf("version: %v", v)
	}
	if _, has := v["libsignal"]; has {
		t.Error("version claims to run libsignal")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestMainExitCodes(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(strings.NewReader(`{"id":1,"op":"version"}`), &out, &errOut); code != 0 || !strings.Contains(out.String(), `"ok":true`) {
		t.Fatalf("Main: exit %d, output %q, stderr %q", code, out.String(), errOut.String())
	}
	errOut.Reset()
	if code := Main(strings.NewReader(`{"id":1,"op":"version"}`), failingWriter{}, &errOut); code != 1 || !strings.Contains(errOut.String(), "broken pipe") {
		t.Fatalf("Main with a broken stdout: exit %d, stderr %q", code, errOut.String())
	}
}

// TestLongLines: requests and answers far beyond bufio.Scanner's 64 KiB.
func TestLongLines(t *testing.T) {
	ikm := bytes.Repeat([]byte{7}, 1<<20)
	req, _ := json.Marshal(map[string]any{"id": 1, "op": "hkdf", "args": map[string]any{"length": 32, "ikm": ikm}})
	got := serve(t, string(req)+"\n")
	if len(got) != 1 || got[0]["ok"] != true {
		t.Fatalf("answer: %v", got)
	}
}

// TestArguments checks the oracle's argument rules: integers are JSON
// numbers with an integral value up to 2^53-1, ids fit 32 bits, binary data
// is standard padded base64, payloads may be null.
func TestArguments(t *testing.T) {
	c := startInProcess(t)
	check := func(t *testing.T, op string, args map[string]any, wantClass string) {
		t.Helper()
		err := c.Call(op, args, nil)
		if wantClass == "" {
			if err != nil {
				t.Fatalf("%s %v: %v", op, args, err)
			}
			return
		}
		if got := classOfErr(t, err); got != wantClass {
			t.Fatalf("%s %v: %v, want class %s", op, args, err, wantClass)
		}
	}
	for _, tc := range []struct {
		length any
		class  string
	}{
		{3, ""}, {json.Number("3.0"), ""}, {json.Number("3e0"), ""}, {json.Number("-0"), ""}, {0, ""},
		{-1, "BadRequest"}, {1.5, "BadRequest"}, {"3", "BadRequest"}, {true, "BadRequest"}, {nil, "BadRequest"},
		{json.Number("9007199254740992"), "BadRequest"},
		{json.Number("9007199254740991"), "LibSignalError"}, // a valid integer, but too long for HKDF
		{255 * 32, ""}, {255*32 + 1, "LibSignalError"},
	} {
		check(t, "hkdf", map[string]any{"length": tc.length, "ikm": "aGk="}, tc.class)
	}
	for _, tc := range []struct {
		ikm   any
		class string
	}{
		{"aGk=", ""}, {"", ""}, {nil, ""}, {"aGk", "BadRequest"}, {"aG k=", "BadRequest"}, {"aGk=\n", "BadRequest"},
		{"-_8=", "BadRequest"}, {"/+8=", ""}, {12, "BadRequest"}, {[]int{1}, "BadRequest"},
	} {
		check(t, "hkdf", map[string]any{"length": 4, "ikm": tc.ikm}, tc.class)
	}
	check(t, "newParty", map[string]any{"name": "a", "deviceId": 1, "registrationId": 4294967295}, "")
	check(t, "newParty", map[string]any{"name": "b", "deviceId": 1, "registrationId": 4294967296}, "BadRequest")
	check(t, "newParty", map[string]any{"name": "c", "deviceId": 128}, "InvalidProtocolAddress")
	check(t, "newParty", map[string]any{"name": 5, "deviceId": 1}, "BadRequest")
	check(t, "newParty", map[string]any{"name": "d", "deviceId": 1, "identityPrivateKey": "AAAA"}, "LibSignalError")
	check(t, "encrypt", map[string]any{"party": "a", "peer": "bob.1"}, "BadRequest")
	check(t, "encrypt", map[string]any{"party": "a", "peer": map[string]any{"name": "bob"}}, "BadRequest")
	check(t, "skdm", map[string]any{"party": "a", "distributionId": "not-a-uuid"}, "BadRequest")
	check(t, "skdm", map[string]any{"party": "a", "distributionId": "D1F0E7A4-5A4E-4C6E-9B7A-1A2B3C4D5E6F"}, "")
	check(t, "sign", map[string]any{"message": "aGk="}, "BadRequest")
	check(t, "bundle", map[string]any{"party": "a", "preKeyId": 4294967296, "withOneTime": true}, "BadRequest")
	check(t, "processBundle", map[string]any{"party": "a", "peer": map[string]any{"name": "b", "deviceId": 1}, "bundle": map[string]any{"preKeyId": 1}}, "BadRequest")

	// A fixed identity key gives the same public key libsignal derives
	// (the oracle's interop tests cover the derivation itself).
	priv := bytes.Repeat([]byte{0x42}, 32)
	var p interop.Party
	if err := c.Call("newParty", map[string]any{"name": "fixed", "deviceId": 3, "identityPrivateKey": priv, "registrationId": 77}, &p); err != nil {
		t.Fatal(err)
	}
	if p.RegistrationID != 77 || p.DeviceID != 3 || len(p.IdentityKey) != 33 || p.IdentityKey[0] != 5 {
		t.Fatalf("newParty: %+v", p)
	}
}

// exportOf returns a party's exported state as compact JSON.
func exportOf(t *testing.T, c caller, handle string) string {
	t.Helper()
	var r struct {
		State json.RawMessage `json:"state"`
	}
	if err := c.Call("exportState", map[string]any{"party": handle}, &r); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, r.State); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestExportImport: a state imported into a new driver exports again byte
// for byte, and failed requests leave the state exactly as it was.
func TestExportImport(t *testing.T) {
	c := startInProcess(t)
	a := newDev(t, "go", c, "alice", aciName(t), 1)
	b := newDev(t, "go", c, "bob", aciName(t), 1)
	a.startSession(b, true)
	b.recv(a, a.send(b, "hello", interop.TypePreKey), "hello")
	b.exchange(a, "hi", interop.TypeWhisper)
	held := a.send(b, "held back", interop.TypeWhisper)
	b.recv(a, a.send(b, "overtaking", interop.TypeWhisper), "overtaking")
	dist := aciName(t)
	a.shareSenderKey(dist, b)
	b.groupRecv(a, a.groupSend(dist, "group"), "group")
	a.bundle(true) // unused prekeys are part of the state too

	for _, d := range []*dev{a, b} {
		before := exportOf(t, c, d.handle)
		c2 := startInProcess(t)
		var st json.RawMessage = json.RawMessage(before)
		if err := c2.Call("importState", map[string]any{"state": st}, nil); err != nil {
			t.Fatal(err)
		}
		// Without a handle the party is named by its name.
		if after := exportOf(t, c2, d.p.Name); after != before {
			t.Fatalf("%s: export after import differs:\n%s\n%s", d, before, after)
		}
	}

	var st state
	if err := json.Unmarshal([]byte(exportOf(t, c, "bob")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Format != stateFormat || len(st.Sessions) != 1 || len(st.Identities) != 1 || len(st.SenderKeys) != 1 ||
		len(st.PreKeys) != 0 || len(st.SignedPreKeys) != 1 || len(st.KyberPreKeys) != 1 || len(st.KyberUsed) != 1 {
		t.Fatalf("bob's state: %+v", st)
	}
	if !st.KyberPreKeys[0].LastResort || st.KyberUsed[0].KyberPreKeyID != st.KyberPreKeys[0].ID {
		t.Fatalf("bob's Kyber prekey: %+v, used %+v", st.KyberPreKeys, st.KyberUsed)
	}

	// A sender certificate for bob, for the sealed sender failures below.
	server, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var sc, bc struct {
		Certificate []byte `json:"certificate"`
	}
	b.call("serverCertificate", map[string]any{"keyId": 1, "serverKey": server.Public.Bytes(), "trustRootPrivateKey": server.Private[:]}, &sc)
	b.call("senderCertificate", map[string]any{"senderUuid": b.p.Name, "deviceId": 1, "identityKey": b.p.IdentityKey, "expires": 1,
		"serverCertificate": sc.Certificate, "serverPrivateKey": server.Private[:]}, &bc)

	// Failed requests change nothing.
	before := exportOf(t, c, "bob")
	tampered := bytes.Clone(held.Ciphertext)
	tampered[len(tampered)-1] ^= 1
	fails := []struct {
		op   string
		args map[string]any
	}{
		{"decrypt", map[string]any{"party": "bob", "peer": a.addr(), "type": 2, "ciphertext": tampered}},
		{"decrypt", map[string]any{"party": "bob", "peer": a.addr(), "type": 3, "ciphertext": tampered}},
		{"groupDecrypt", map[string]any{"party": "bob", "sender": a.addr(), "ciphertext": tampered}},
		{"processSkdm", map[string]any{"party": "bob", "sender": a.addr(), "skdm": []byte{0x33, 1}}},
		{"bundle", map[string]any{"party": "bob", "withOneTime": true, "kyberPreKeyId": -1}},
		{"processBundle", map[string]any{"party": "bob", "peer": a.addr(), "bundle": map[string]any{"registrationId": 1}}},
		{"saveIdentity", map[string]any{"party": "bob", "peer": a.addr(), "identityKey": []byte{5}}},
		{"importState", map[string]any{"party": "bob", "state": map[string]any{"format": stateFormat}}},
		// A v2 send to a device without a session fails before bob's
		// session with alice advances.
		{"sealedMultiEncrypt", map[string]any{"party": "bob", "peer": a.addr(), "senderCertificate": bc.Certificate, "plaintext": []byte("x"),
			"recipients": []any{a.addr(), map[string]any{"name": a.p.Name, "deviceId": 2}}}},
		{"sealedDecrypt", map[string]any{"party": "bob", "ciphertext": tampered, "trustRoot": a.p.IdentityKey, "timestamp": 1}},
	}
	for _, f := range fails {
		if err := c.Call(f.op, f.args, nil); err == nil {
			t.Fatalf("%s %v succeeded", f.op, f.args)
		}
		if after := exportOf(t, c, "bob"); after != before {
			t.Fatalf("failed %s changed bob's state", f.op)
		}
	}
	b.recv(a, held, "held back")
}

// TestImportRefusals: a bad state is a bad request and creates no party.
func TestImportRefusals(t *testing.T) {
	c := startInProcess(t)
	a := newDev(t, "go", c, "alice", aciName(t), 1)
	b := newDev(t, "go", c, "bob", aciName(t), 1)
	a.startSession(b, true)
	b.recv(a, a.send(b, "hello", interop.TypePreKey), "hello")
	dist := aciName(t)
	b.skdm(dist)
	good := exportOf(t, c, "bob")

	edit := func(f func(m map[string]any)) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(good), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		return m
	}
	first := func(m map[string]any, key string) map[string]any { return m[key].([]any)[0].(map[string]any) }
	garbage := base64.StdEncoding.EncodeToString([]byte("garbage"))
	cases := map[string]any{
		"the oracle's format": edit(func(m map[string]any) { m["format"] = 1 }),
		"no format":           edit(func(m map[string]any) { delete(m, "format") }),
		"not an object":       "state",
		"no name":             edit(func(m map[string]any) { delete(m, "name") }),
		"device 0":            edit(func(m map[string]any) { m["deviceId"] = 0 }),
		"short identity":      edit(func(m map[string]any) { m["identityPrivateKey"] = "AAAA" }),
		"foreign public key":  edit(func(m map[string]any) { m["identityKey"] = a.p.IdentityKey }),
		"corrupt session":     edit(func(m map[string]any) { first(m, "sessions")["record"] = garbage }),
		"corrupt sender key":  edit(func(m map[string]any) { first(m, "senderKeys")["record"] = garbage }),
		"bad distribution":    edit(func(m map[string]any) { first(m, "senderKeys")["distributionId"] = "x" }),
		"bad identity":        edit(func(m map[string]any) { first(m, "identities")["key"] = garbage }),
		"bad Kyber seed":      edit(func(m map[string]any) { first(m, "kyberPreKeys")["seed"] = garbage }),
		"short signature":     edit(func(m map[string]any) { first(m, "signedPreKeys")["signature"] = garbage }),
		"sessions not a list": edit(func(m map[string]any) { m["sessions"] = map[string]any{} }),
		"entry not an object": edit(func(m map[string]any) { m["preKeys"] = []any{1} }),
		"bad used base key":   edit(func(m map[string]any) { first(m, "kyberUsed")["baseKey"] = garbage }),
	}
	for name, st := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.Call("importState", map[string]any{"state": st, "party": "imported"}, nil)
			if class := classOfErr(t, err); class != "BadRequest" {
				t.Fatalf("%v, want BadRequest", err)
			}
			err = c.Call("exportState", map[string]any{"party": "imported"}, nil)
			if class := classOfErr(t, err); class != "BadRequest" {
				t.Fatalf("a refused import created a party: %v", err)
			}
		})
	}
	// The unedited state imports, under a new handle, beside the original.
	if err := c.Call("importState", map[string]any{"state": json.RawMessage(good), "party": "bob2"}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestBundleIDs: ids count up from 1 per kind, an id the caller names pushes
// the counter past it, and a refused bundle consumes nothing.
func TestBundleIDs(t *testing.T) {
	c := startInProcess(t)
	a := newDev(t, "go", c, "alice", "alice", 1)
	b1 := a.bundle(true)
	if *b1.PreKeyID != 1 || b1.SignedPreKeyID != 1 || b1.KyberPreKeyID != 1 {
		t.Fatalf("first bundle ids: %d %d %d", *b1.PreKeyID, b1.SignedPreKeyID, b1.KyberPreKeyID)
	}
	var b2 interop.Bundle
	a.call("bundle", map[string]any{"party": "alice", "withOneTime": true, "preKeyId": 10, "signedPreKeyId": 7}, &b2)
	if *b2.PreKeyID != 10 || b2.SignedPreKeyID != 7 || b2.KyberPreKeyID != 2 {
		t.Fatalf("second bundle ids: %d %d %d", *b2.PreKeyID, b2.SignedPreKeyID, b2.KyberPreKeyID)
	}
	before := exportOf(t, c, "alice")
	if err := c.Call("bundle", map[string]any{"party": "alice", "withOneTime": true, "kyberPreKeyId": "x"}, nil); err == nil {
		t.Fatal("a bad kyberPreKeyId was accepted")
	}
	if exportOf(t, c, "alice") != before {
		t.Fatal("a refused bundle changed the party")
	}
	b3 := a.bundle(false)
	if b3.PreKeyID != nil || b3.SignedPreKeyID != 8 || b3.KyberPreKeyID != 3 {
		t.Fatalf("third bundle ids: %v %d %d", b3.PreKeyID, b3.SignedPreKeyID, b3.KyberPreKeyID)
	}
	var n struct {
		Calls []interop.KyberUse `json:"calls"`
	}
	a.call("kyberUsed", map[string]any{"party": "alice"}, &n)
	if n.Calls == nil || len(n.Calls) != 0 {
		t.Fatalf("kyberUsed before any session: %+v", n.Calls)
	}
}

// TestPipeClosed: the driver stops cleanly when its input ends without a
// close request.
func TestPipeClosed(t *testing.T) {
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- New().Serve(r, io.Discard) }()
	if _, err := w.Write([]byte(`{"id":1,"op":"version"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
