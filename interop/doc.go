// Package interop checks Parley's Signal protocol implementation against the
// official libsignal, byte for byte.
//
// The official library runs in a separate Node.js process, the oracle
// (interop/oracle/oracle.mjs on @signalapp/libsignal-client, pinned exactly),
// which the tests drive over JSON lines through [Start] and [Oracle.Call].
// libsignal is AGPL-3.0-only: it is a test-only tool here, talked to over a
// pipe and never linked into any Parley binary. Only tests import this
// package, which is why its harness may depend on package testing.
//
// Install the oracle once with `npm ci` in interop/oracle (make test does it);
// without it the tests skip, except under CI=true where they fail.
// interop/README.md documents every operation.
package interop
