package bus

import "github.com/parley-im/parley/types"

// Every subject Parley uses is built here and nowhere else.
//
//	parley.dev.<account>.<device>   events for one device: deliveries, kicks, low prekeys
//	parley.acct.<account>           events for every device of an account: typing, kicks
//	parley.presence.<account>       presence changes of an account, for its subscribers
//	parley.probe.<account>          request: is any device of the account online?
//	parley.prov.<address>           provisioning messages for a device being linked

// DeviceSubject carries events for one device.
func DeviceSubject(a types.Address) string {
	return "parley.dev." + a.Account.String() + "." + a.Device.String()
}

// AccountSubject carries events for every device of an account.
func AccountSubject(acct types.AccountID) string { return "parley.acct." + acct.String() }

// PresenceSubject carries an account's presence changes.
func PresenceSubject(acct types.AccountID) string { return "parley.presence." + acct.String() }

// ProbeSubject is answered by every node holding a connection of the account.
func ProbeSubject(acct types.AccountID) string { return "parley.probe." + acct.String() }

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
