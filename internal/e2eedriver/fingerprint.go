package e2eedriver

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/parley-im/parley/e2ee/fingerprint"
)

// compareScannable is the oracle's fingerprintCompare: mine and other are
// two scannable fingerprints (CombinedFingerprints protobufs), and they
// match when other's local half is mine's remote half and the other way
// round. Both are read with e2ee/fingerprint's decoder; the checks and
// messages are the oracle's: mine must carry a version and both halves;
// other may lack the version (it counts as 0) but not a half.
func compareScannable(mine, other []byte) (bool, error) {
	m, err := fingerprint.ParseScannable(mine)
	if err != nil {
		return false, fmt.Errorf("fingerprint parsing error: %w", err)
	}
	switch {
	case !m.HasVersion:
		return false, errors.New("fingerprint parsing error: missing version")
	case !m.HasLocal:
		return false, errors.New("fingerprint parsing error: missing local fingerprint")
	case !m.HasRemote:
		return false, errors.New("fingerprint parsing error: missing remote fingerprint")
	}
	o, err := fingerprint.ParseScannable(other)
	if err != nil {
		return false, fmt.Errorf("fingerprint parsing error: failed to decode their protobuf: %w", err)
	}
	if o.Version != m.Version {
		return false, fmt.Errorf("fingerprint version number mismatch them %d us %d", o.Version, m.Version)
	}
	switch {
	case !o.HasLocal:
		return false, errors.New("fingerprint parsing error: missing their local fingerprint")
	case !o.HasRemote:
		return false, errors.New("fingerprint parsing error: missing their remote fingerprint")
	}
	same := subtle.ConstantTimeCompare(o.Local, m.Remote) & subtle.ConstantTimeCompare(o.Remote, m.Local)
	return same == 1, nil
}
