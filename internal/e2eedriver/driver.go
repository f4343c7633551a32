// Package e2eedriver is the JSON-lines driver of Parley's Signal protocol
// implementation (e2ee/...): it answers exactly the requests of the libsignal
// oracle in interop/oracle, with the same operations, arguments, results and
// error classes, so that a test can pair any two implementations that speak
// the protocol, ours among them. cmd/parley-e2ee runs it on stdin and stdout;
// interop/README.md documents the protocol and the operations.
//
// The driver is a test and tooling surface, not part of any Parley binary's
// runtime: it keeps every party in memory (session.MemoryStore and
// senderkey.MemoryStore) and trusts identities on first use, as the oracle
// does.
package e2eedriver

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Driver holds the parties of one driver session. Its zero value is not
// usable; call New. A Driver serves one stream of requests at a time.
type Driver struct {
	parties map[string]*party
	// rand and now are the sources of randomness and time; tests may
	// replace them before serving.
	rand io.Reader
	now  func() time.Time
}

// New returns a driver with no parties.
func New() *Driver {
	return &Driver{parties: map[string]*party{}, rand: rand.Reader, now: time.Now}
}

// Main runs a driver on the given streams until the input ends or a close
// request arrives, and returns the process exit code.
func Main(stdin io.Reader, stdout, stderr io.Writer) int {
	if err := New().Serve(stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "parley-e2ee: %v\n", err)
		return 1
	}
	return 0
}

// Serve reads one JSON request per line from r and writes one JSON answer
// per line to w, in request order. It returns nil at the end of the input or
// after answering close, and an error only when reading or writing fails:
// bad requests are answered, never fatal.
func (d *Driver) Serve(r io.Reader, w io.Writer) error {
	in := bufio.NewReader(r)
	out := bufio.NewWriter(w)
	for {
		// ReadBytes, not a Scanner: an exported state can be far longer
		// than a Scanner's default line limit.
		line, readErr := in.ReadBytes('\n')
		if line = bytes.TrimSpace(line); len(line) > 0 {
			a, closing := d.handle(line)
			if err := writeAnswer(out, a); err != nil {
				return err
			}
			if closing {
				return nil
			}
		}
		if readErr == io.EOF {
			return nil
		}
		if readErr != nil {
			return fmt.Errorf("read request: %w", readErr)
		}
	}
}

// answer is one line of output. ID is the request's id copied verbatim
// (null when it had none).
type answer struct {
	ID        json.RawMessage `json:"id"`
	OK        bool            `json:"ok"`
	Result    any             `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
	Operation string          `json:"operation,omitempty"`
}

var jsonNull = json.RawMessage("null")

func writeAnswer(out *bufio.Writer, a answer) error {
	line, err := json.Marshal(a)
	if err != nil {
		// Results are built from plain types, so this is a bug; still
		// answer, so that the caller's request and answer streams stay in
		// step.
		line, _ = json.Marshal(failure(a.ID, fmt.Errorf("encode answer: %w", err)))
	}
	line = append(line, '\n')
	if _, err := out.Write(line); err != nil {
		return fmt.Errorf("write answer: %w", err)
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write answer: %w", err)
	}
	return nil
}

// handle answers one request line; closing reports a close request.
func (d *Driver) handle(line []byte) (a answer, closing bool) {
	if !json.Valid(line) {
		var v any
		err := json.Unmarshal(line, &v)
		return failure(jsonNull, badRequest("request is not JSON: %v", err)), false
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(line, &req); err != nil {
		return failure(jsonNull, badRequest(`request needs an "op" string`)), false
	}
	id := jsonNull
	if raw, ok := req["id"]; ok {
		id = raw
	}
	var op string
	if raw, ok := req["op"]; !ok || json.Unmarshal(raw, &op) != nil || !isJSONString(raw) {
		return failure(id, badRequest(`request needs an "op" string`)), false
	}
	if op == "close" {
		return answer{ID: id, OK: true, Result: struct{}{}}, true
	}
	h, ok := handlers[op]
	if !ok {
		return failure(id, badRequest("unknown op %q", op)), false
	}
	args := map[string]json.RawMessage{}
	if raw, ok := req["args"]; ok && !isNull(raw) {
		if !isJSONObject(raw) || json.Unmarshal(raw, &args) != nil {
			return failure(id, badRequest(`"args" must be an object`)), false
		}
	}
	result, err := h(d, &argReader{m: args, where: "args"})
	if err != nil {
		return failure(id, err), false
	}
	if result == nil {
		result = struct{}{}
	}
	return answer{ID: id, OK: true, Result: result}, false
}

func failure(id json.RawMessage, err error) answer {
	a := answer{ID: id, Error: classOf(err) + ": " + err.Error()}
	var oe *opError
	if errors.As(err, &oe) {
		a.Operation = oe.operation
	}
	return a
}
