package session

import "github.com/parley-im/parley/e2ee"

// MaxDeviceID is the largest device id libsignal accepts (1..127); see
// e2ee.MaxDeviceID.
const MaxDeviceID = e2ee.MaxDeviceID

// Address names one device of a remote (or the local) user. It is
// e2ee.Address, shared with senderkey so that both file state under the same
// key.
type Address = e2ee.Address

// validate reports an invalid address with this package's sentinel, the one
// callers of session test for.
func validate(a Address) error {
	if a.Validate() != nil {
		return errorf(ErrInvalidAddress, "device id %d outside 1..%d", a.DeviceID, MaxDeviceID)
	}
	return nil
}

// serviceIDFixedWidth is e2ee.ServiceIDFixedWidth: 17-byte kind ‖ UUID, ok
// false when the name is not a service id.
func serviceIDFixedWidth(name string) ([17]byte, bool) { return e2ee.ServiceIDFixedWidth(name) }

// encodeAddresses builds the 36-byte addresses field
// sender(17) ‖ senderDevice ‖ recipient(17) ‖ recipientDevice.
func encodeAddresses(sender, recipient Address) ([]byte, bool) {
	s, ok1 := serviceIDFixedWidth(sender.Name)
	r, ok2 := serviceIDFixedWidth(recipient.Name)
	if !ok1 || !ok2 || sender.Validate() != nil || recipient.Validate() != nil {
		return nil, false
	}
	out := make([]byte, 0, 36)
	out = append(out, s[:]...)
	out = append(out, byte(sender.DeviceID))
	out = append(out, r[:]...)
	out = append(out, byte(recipient.DeviceID))
	return out, true
}
