package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/e2ee/fingerprint"
	"github.com/parley-im/parley/types"
)

var safetyNumberCmd = &command{
	name:    "safety-number",
	args:    "--with +E164|ACCOUNT [--compare CODE] [--verify] [--json] [flags]",
	summary: "show, compare or verify the safety number with a contact",
	help: "Safety-number shows the safety number of this account and a contact: 60 " +
		"digits in twelve groups of five, the same as a QR code, its code as text (the " +
		"base64 of what the QR code holds), and whether it is verified. Both people see " +
		"the same digits when nobody sits between them; compare them in person or over a " +
		"call you trust. A linked device shows the same number as its primary.\n\n" +
		"--compare CODE checks the code the contact's 'parley safety-number' shows (or " +
		"what scanning their QR code gave, in base64): exit 0 when it matches, 1 when it " +
		"does not.\n\n" +
		"--verify marks the safety number verified, after you compared it: by the digits " +
		"alone, or together with --compare, which then marks it only if the codes match. " +
		"When the contact's keys change (a new phone, a reinstall, or someone in between) " +
		"sending to them stops until you compare the new number and --verify it; the " +
		"mark also accepts new keys of the contact's linked devices, which the number " +
		"does not cover.\n\n" + profileHelp,
	run: runSafetyNumber,
}

func runSafetyNumber(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("safety-number")
	with := fs.String("with", "", "the contact: a `phone` number in E.164 form or an account id")
	compare := fs.String("compare", "", "the contact's `code` (base64) to compare with ours")
	verify := fs.Bool("verify", false, "mark the safety number verified (with --compare: only if the codes match)")
	asJSON := fs.Bool("json", false, "print the safety number as one JSON object")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	if *with == "" {
		return e.usageError("safety-number", "give --with")
	}
	var scanned []byte
	if *compare != "" {
		var ok bool
		if scanned, ok = decodeBase64(*compare); !ok {
			return e.usageError("safety-number", "--compare is not base64: give the code the other side shows")
		}
	}
	if *asJSON && (scanned != nil || *verify) {
		return e.usageError("safety-number", "--json shows the number; leave out --compare and --verify")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, _, err := e.openRegistered(ctx, *profile)
	if err != nil {
		return e.fail("safety-number", err)
	}
	defer c.Close()
	peer, phone, err := resolvePeer(ctx, c, *with)
	if err != nil {
		return e.fail("safety-number", err)
	}
	if peer == c.Account().ID {
		return e.fail("safety-number", errors.New("that is this account: a safety number is between two accounts"))
	}
	who := orID(phone, peer)
	sn, err := c.SafetyNumber(ctx, peer)
	if err != nil {
		return e.fail("safety-number", safetyError(who, err))
	}

	if scanned != nil {
		ok, err := c.CompareSafetyNumber(ctx, peer, scanned)
		switch {
		case errors.Is(err, fingerprint.ErrVersionMismatch):
			return e.fail("safety-number", fmt.Errorf("the code is of another safety-number version than ours (%v): compare the digits instead", err))
		case errors.Is(err, client.ErrInvalid):
			return e.usageError("safety-number", "--compare is not a safety-number code: give the code the other side shows")
		case err != nil:
			return e.fail("safety-number", safetyError(who, err))
		case !ok:
			fmt.Fprintf(e.stdout, "The safety numbers with %s do NOT match: someone may sit between you, or one of you has an old number. Do not trust this conversation until you know why.\n", who)
			if *verify {
				fmt.Fprintln(e.stdout, "Not marked verified.")
			}
			return exitFail
		}
		fmt.Fprintf(e.stdout, "The safety numbers with %s match.\n", who)
	}
	if *verify {
		if err := c.VerifyIdentity(ctx, peer); err != nil {
			return e.fail("safety-number", safetyError(who, err))
		}
		// The number covers the contact's account key only; a change of a
		// linked device's key blocks sending too, and the user has nothing
		// else to compare, so the mark accepts those as well.
		if err := c.AcknowledgeIdentity(ctx, peer); err != nil {
			return e.fail("safety-number", err)
		}
		// Show what was marked: the key may have changed since the user
		// last looked.
		if sn, err = c.SafetyNumber(ctx, peer); err != nil {
			return e.fail("safety-number", safetyError(who, err))
		}
		fmt.Fprintf(e.stdout, "Marked the safety number with %s verified:\n\n%s", who, digitLines(sn.Groups()))
		return exitOK
	}
	if scanned != nil {
		return exitOK
	}

	changed, err := identityChanged(ctx, c, peer)
	if err != nil {
		return e.fail("safety-number", err)
	}
	code := base64.StdEncoding.EncodeToString(sn.Scannable)
	if *asJSON {
		b, _ := json.Marshal(safetyJSON{With: phone, Account: peer.String(), Digits: sn.Digits, Code: code,
			Verified: sn.Verified && !changed, Changed: changed})
		e.stdout.Write(append(b, '\n'))
		return exitOK
	}
	pic, err := qrHalfBlocks(sn.Scannable)
	if err != nil {
		return e.fail("safety-number", err)
	}
	fmt.Fprintf(e.stdout, "Safety number with %s:\n\n%s\n%sCode (for --compare on the other side): %s\n", who, digitLines(sn.Groups()), pic, code)
	switch {
	case changed:
		fmt.Fprintf(e.stdout, "CHANGED: the keys of %s changed since you last accepted them; sending to them is blocked. "+
			"Compare this new number with them, then run 'parley safety-number --with %s --verify'.\n", who, *with)
	case sn.Verified:
		fmt.Fprintln(e.stdout, "Verified: you compared this number with them.")
	default:
		fmt.Fprintf(e.stdout, "Not verified: compare the digits with %s, or run 'parley safety-number --with %s --compare CODE' "+
			"with their code; then mark it with --verify.\n", who, *with)
	}
	return exitOK
}

// safetyJSON is what safety-number --json prints.
type safetyJSON struct {
	With     string `json:"with,omitempty"` // the phone number, when known
	Account  string `json:"account"`
	Digits   string `json:"digits"`
	Code     string `json:"code"` // base64 of the QR code's bytes
	Verified bool   `json:"verified"`
	Changed  bool   `json:"changed"` // a key of the contact changed and was not accepted since
}

// identityChanged reports whether a key of one of peer's devices changed
// and the user has not accepted it since (sending to peer is blocked).
func identityChanged(ctx context.Context, c *client.Client, peer types.AccountID) (bool, error) {
	ids, err := c.ChangedIdentities(ctx)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		if id.Address.Name == peer.String() && id.Trust == clientstore.TrustChanged {
			return true, nil
		}
	}
	return false, nil
}

// safetyError says why there is no safety number.
func safetyError(who string, err error) error {
	if errors.Is(err, client.ErrNoIdentity) {
		return fmt.Errorf("no safety number with %s yet: their keys (or, on a linked device, this account's primary's) are not known: %w", who, err)
	}
	return fmt.Errorf("safety number with %s: %w", who, err)
}

// digitLines writes the twelve groups of five digits four to a line, as
// the other apps show them.
func digitLines(groups []string) string {
	var b strings.Builder
	for i, g := range groups {
		b.WriteString(g)
		if i%4 == 3 || i == len(groups)-1 {
			b.WriteString("\n")
		} else {
			b.WriteString(" ")
		}
	}
	return b.String()
}

// decodeBase64 accepts the code in standard or URL-safe base64, padded or
// not, as a QR scanner app or a chat may have rewritten it.
func decodeBase64(s string) ([]byte, bool) {
	s = strings.TrimRight(strings.Join(strings.Fields(s), ""), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) > 0 {
			return b, true
		}
	}
	return nil, false
}
