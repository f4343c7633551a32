package gateway

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/parley-im/parley/internal/account"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/mailbox"
	"github.com/parley-im/parley/internal/media"
	"github.com/parley-im/parley/internal/prekey"
	"github.com/parley-im/parley/internal/presence"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// errNotAuthenticated and friends are the gateway's own refusals.
var (
	errNotAuthenticated = wireErr(wirepb.ErrorCode_ERROR_CODE_NOT_AUTHENTICATED, "authenticate first")
	errUnknownRequest   = wireErr(wirepb.ErrorCode_ERROR_CODE_UNKNOWN_REQUEST, "unknown request kind")
	errStopping         = wireErr(wirepb.ErrorCode_ERROR_CODE_UNAVAILABLE, "the server is shutting down; reconnect")
)

func wireErr(code wirepb.ErrorCode, msg string) *wirepb.Error {
	return &wirepb.Error{Code: code, Message: msg}
}

func errBadRequest(msg string) *wirepb.Error {
	return wireErr(wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST, msg)
}

// toWire turns a domain error into what the client may see: a code from the
// registry and a message that carries no internals. Errors without a wire
// meaning are logged with the request's reference and reported as INTERNAL.
func toWire(err error, log *slog.Logger, ref string) *wirepb.Error {
	var (
		rl *account.RateLimitedError
		mm *mailbox.MismatchedError
		fe *mailbox.FullError
		qe *media.QuotaError
	)
	switch {
	case errors.As(err, &rl):
		e := wireErr(wirepb.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many requests; try again later")
		e.RetryAfterSeconds = uint32(rl.RetryAfter.Seconds() + 0.999)
		return e
	case errors.As(err, &qe):
		e := wireErr(wirepb.ErrorCode_ERROR_CODE_RATE_LIMITED, "the account's daily media upload quota is used up")
		e.RetryAfterSeconds = uint32(qe.RetryAfter.Seconds() + 0.999)
		return e
	case errors.Is(err, media.ErrTooLarge):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_TOO_LARGE, err.Error())
	case errors.Is(err, media.ErrNotFound):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_NOT_FOUND, "no such media (never uploaded, incomplete, expired or deleted)")
	case errors.As(err, &mm):
		return &wirepb.Error{Code: wirepb.ErrorCode_ERROR_CODE_MISMATCHED_DEVICES, Message: "the destination's devices changed",
			Mismatched: &wirepb.MismatchedDevices{Missing: u32s(mm.Missing), Extra: u32s(mm.Extra), Stale: u32s(mm.Stale)}}
	case errors.As(err, &fe):
		return &wirepb.Error{Code: wirepb.ErrorCode_ERROR_CODE_MAILBOX_FULL, Message: "the recipient's mailbox is full",
			FullDevices: u32s(fe.Devices)}
	case errors.Is(err, group.ErrChanged), errors.Is(err, mailbox.ErrGroupChanged):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_GROUP_CHANGED, "the group changed; fetch it again and retry")
	case errors.Is(err, group.ErrTooLarge):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_TOO_LARGE, "the group would have too many members")
	case errors.Is(err, group.ErrForbidden):
		// Written by us (internal/group, e2ee/grouplog) about the request.
		return wireErr(wirepb.ErrorCode_ERROR_CODE_FORBIDDEN, err.Error())
	case errors.Is(err, group.ErrNotFound):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_NOT_FOUND, "no such group")
	case errors.Is(err, group.ErrExists):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_CONFLICT, "a group with this id exists")
	case errors.Is(err, account.ErrInvalidInput), errors.Is(err, prekey.ErrInvalidKey), errors.Is(err, mailbox.ErrInvalid), errors.Is(err, group.ErrInvalid),
		errors.Is(err, types.ErrInvalidID), errors.Is(err, types.ErrInvalidPhone), errors.Is(err, presence.ErrTooMany),
		errors.Is(err, media.ErrInvalid):
		// These messages are written by us about the request's own fields.
		return errBadRequest(err.Error())
	case errors.Is(err, account.ErrInvalidCode):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_INVALID_CODE, "the code is wrong, used up or expired")
	case errors.Is(err, account.ErrNumberTaken):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_NUMBER_TAKEN, "the number belongs to another account")
	case errors.Is(err, account.ErrDeviceLimit):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_DEVICE_LIMIT, "the account has its maximum number of devices")
	case errors.Is(err, errNotYours):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_FORBIDDEN, "ack names an envelope not delivered to this device")
	case errors.Is(err, account.ErrForbidden):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_FORBIDDEN, "this device may not do that")
	case errors.Is(err, account.ErrAuthFailed):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED, "device authentication failed")
	case errors.Is(err, account.ErrNotFound), errors.Is(err, prekey.ErrNotFound), errors.Is(err, mailbox.ErrNoAccount):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_NOT_FOUND, "no such account or device")
	case errors.Is(err, mailbox.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return wireErr(wirepb.ErrorCode_ERROR_CODE_UNAVAILABLE, "the server is busy or shutting down; retry")
	}
	log.Error("request failed", "ref", ref, "err", err)
	return wireErr(wirepb.ErrorCode_ERROR_CODE_INTERNAL, "internal error (ref "+ref+")")
}

// wireError is toWire for request id of c. An error without a wire meaning
// while the store does not answer is the store's outage, not a bug of
// ours: the client is told UNAVAILABLE, to retry (on another node, if it
// likes), rather than INTERNAL.
func (c *conn) wireError(err error, id uint64) *wirepb.Error {
	ref := c.ref(id)
	e := toWire(err, c.s.Log, ref)
	if e.Code != wirepb.ErrorCode_ERROR_CODE_INTERNAL {
		return e
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c.s.Store.Ping(ctx) != nil {
		return wireErr(wirepb.ErrorCode_ERROR_CODE_UNAVAILABLE, "the server's database is unavailable; retry (ref "+ref+")")
	}
	return e
}

func u32s(ds []types.DeviceID) []uint32 {
	out := make([]uint32, len(ds))
	for i, d := range ds {
		out[i] = uint32(d)
	}
	return out
}
