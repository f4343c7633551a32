package bus

import (
	"strconv"
	"strings"

	"github.com/parley-im/parley/types"
)

// Every subject Parley uses is built here and nowhere else.
//
//	parley.acct.<account>.dev.<device>  events for one device: deliveries, kicks, low prekeys
//	parley.acct.<account>.all           events for every device of an account: typing, kicks
//	parley.acct.<account>.probe         request: is any device of the account online?
//	parley.presence.<account>           presence changes of an account, for its subscribers
//	parley.prov.<address>               provisioning messages for a device being linked
//
// A device's own subjects all sit under its account's prefix so that a node
// needs ONE subscription per account it holds connections of
// (AccountWildcard), whatever the number of its devices and subjects:
// subscriptions cost memory in NATS and in the client, per idle connection.

const acctPrefix = "parley.acct."

// DeviceSubject carries events for one device.
func DeviceSubject(a types.Address) string {
	return acctPrefix + a.Account.String() + ".dev." + a.Device.String()
}

// AccountSubject carries events for every device of an account.
func AccountSubject(acct types.AccountID) string { return acctPrefix + acct.String() + ".all" }

// ProbeSubject is answered by every node holding a connection of the account.
func ProbeSubject(acct types.AccountID) string { return acctPrefix + acct.String() + ".probe" }

// AccountWildcard matches DeviceSubject, AccountSubject and ProbeSubject of
// acct: what a node subscribes to for the connections of one account.
func AccountWildcard(acct types.AccountID) string { return acctPrefix + acct.String() + ".>" }

// SubjectKind says which of an account's subjects ParseAccountSubject saw.
type SubjectKind uint8

// The subjects under AccountWildcard.
const (
	KindDevice SubjectKind = iota + 1
	KindAccount
	KindProbe
)

// ParseAccountSubject reads a subject matched by AccountWildcard; ok is false
// for anything else.
func ParseAccountSubject(s string) (acct types.AccountID, kind SubjectKind, dev types.DeviceID, ok bool) {
	rest, found := strings.CutPrefix(s, acctPrefix)
	if !found {
		return acct, 0, 0, false
	}
	id, tail, found := strings.Cut(rest, ".")
	if !found {
		return acct, 0, 0, false
	}
	acct, err := types.ParseAccountID(id)
	if err != nil {
		return acct, 0, 0, false
	}
	switch {
	case tail == "all":
		return acct, KindAccount, 0, true
	case tail == "probe":
		return acct, KindProbe, 0, true
	case strings.HasPrefix(tail, "dev."):
		d, err := strconv.ParseUint(tail[len("dev."):], 10, 32)
		if err != nil || d == 0 {
			return acct, 0, 0, false
		}
		return acct, KindDevice, types.DeviceID(d), true
	}
	return acct, 0, 0, false
}

// PresenceSubject carries an account's presence changes.
func PresenceSubject(acct types.AccountID) string { return "parley.presence." + acct.String() }

// ProvisionSubject reaches the connection that opened a provisioning address.
func ProvisionSubject(address string) string { return "parley.prov." + address }

// Node liveness subjects (internal/liveness): every node publishes its
// heartbeat on NodeHeartbeatSubject and listens to all of them;
// NodeReleasedSubject names a node whose devices another node released
// after it fell silent.
const (
	NodeHeartbeatSubject = "parley.node.heartbeat"
	NodeReleasedSubject  = "parley.node.released"
)
