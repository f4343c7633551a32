package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// LibsignalVersion is the exact @signalapp/libsignal-client version the oracle
// must run; Start refuses any other so that a stale node_modules cannot pass
// for the pinned library.
const LibsignalVersion = "0.103.0"

// Ciphertext message types, as libsignal numbers them.
const (
	TypeWhisper   = 2 // SignalMessage
	TypePreKey    = 3 // PreKeySignalMessage
	TypeSenderKey = 7 // SenderKeyMessage
)

// DefaultTimeout bounds one oracle call; every operation takes milliseconds,
// so hitting it means the oracle hangs.
const DefaultTimeout = 2 * time.Minute

// stderrKeep is how much of the oracle's stderr (libsignal's log) is kept for
// failure messages.
const stderrKeep = 64 << 10

// OracleError is a request the oracle answered with ok:false. Class is the
// libsignal error code's name ("DuplicatedMessage", "UntrustedIdentity",
// "InvalidProtocolAddress", "InvalidSession"...), "LibSignalError" for
// libsignal's generic errors (which in the Node binding include bad MACs,
// bad signatures and malformed messages), or "BadRequest" when the oracle
// could not even try (unknown op or party, missing or malformed argument).
type OracleError struct {
	Op        string // the request's op
	Class     string
	Message   string
	Operation string // libsignal's native function, when it names one
}

func (e *OracleError) Error() string {
	return fmt.Sprintf("oracle %s: %s: %s", e.Op, e.Class, e.Message)
}

// Oracle is one running oracle process. Calls are serialised: the oracle
// answers one request at a time, in order.
type Oracle struct {
	// Timeout bounds each call; set it before calling.
	Timeout time.Duration

	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *tailBuffer
	answers chan answer
	done    chan struct{} // closed when the oracle's stdout ends
	quit    chan struct{} // closed by Close: stop delivering answers

	mu     sync.Mutex
	nextID int64
	broken error // set once the process cannot be trusted any more

	closeOnce sync.Once
	closeErr  error
}

type answer struct {
	ID        *int64          `json:"id"`
	OK        bool            `json:"ok"`
	Result    json.RawMessage `json:"result"`
	Error     string          `json:"error"`
	Operation string          `json:"operation"`
	bad       error           // the line was not a valid answer
}

// Start runs `node interop/oracle/oracle.mjs` for the test and stops it in
// t.Cleanup. Without node or interop/oracle/node_modules the test is skipped,
// or fails when CI=true, since CI installs the oracle first.
func Start(t testing.TB) *Oracle {
	t.Helper()
	dir, err := oracleDir()
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not on PATH; install Node.js, then run npm ci in interop/oracle")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@signalapp", "libsignal-client", "package.json")); err != nil {
		unavailable(t, "the libsignal oracle is not installed: run npm ci in interop/oracle")
	}

	o := &Oracle{
		Timeout: DefaultTimeout,
		stderr:  &tailBuffer{max: stderrKeep},
		answers: make(chan answer),
		done:    make(chan struct{}),
		quit:    make(chan struct{}),
	}
	o.cmd = exec.Command(node, "oracle.mjs")
	o.cmd.Dir = dir
	o.cmd.Stderr = o.stderr
	if o.stdin, err = o.cmd.StdinPipe(); err != nil {
		t.Fatalf("interop: %v", err)
	}
	stdout, err := o.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	if err := o.cmd.Start(); err != nil {
		t.Fatalf("interop: start oracle: %v", err)
	}
	go o.read(stdout)
	t.Cleanup(func() {
		if err := o.Close(); err != nil {
			t.Errorf("interop: stop oracle: %v", err)
		}
		if t.Failed() {
			if s := o.Stderr(); s != "" {
				t.Logf("oracle stderr:\n%s", s)
			}
		}
	})

	var v struct {
		Libsignal string `json:"libsignal"`
		Node      string `json:"node"`
	}
	if err := o.Call("version", nil, &v); err != nil {
		t.Fatalf("interop: oracle does not answer: %v\n%s", err, o.Stderr())
	}
	if v.Libsignal != LibsignalVersion {
		t.Fatalf("interop: oracle runs libsignal %s, want %s: run npm ci in interop/oracle", v.Libsignal, LibsignalVersion)
	}
	return o
}

func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("interop: %s (required under CI=true)", msg)
	}
	t.Skipf("interop: %s", msg)
}

// oracleDir finds interop/oracle from the working directory, which go test
// sets to the package's directory: the first ancestor holding go.mod is the
// repository root.
func oracleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			o := filepath.Join(dir, "interop", "oracle")
			if _, err := os.Stat(filepath.Join(o, "oracle.mjs")); err != nil {
				return "", fmt.Errorf("no interop/oracle/oracle.mjs under the module root %s", dir)
			}
			return o, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func (o *Oracle) read(stdout io.Reader) {
	defer close(o.done)
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var a answer
			if jerr := json.Unmarshal(line, &a); jerr != nil {
				a = answer{bad: fmt.Errorf("oracle wrote a line that is not an answer: %v: %.200q", jerr, line)}
			}
			select {
			case o.answers <- a:
			case <-o.quit:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Call sends one request and waits for its answer. args is encoded with
// encoding/json (nil sends {}), so []byte fields travel as base64 as the
// oracle expects; result, when not nil, receives the answer's result object.
// A request the oracle refused or libsignal failed returns an *OracleError;
// any other error means the oracle is gone and every later call fails too.
func (o *Oracle) Call(op string, args any, result any) error {
	return o.call(op, args, result, 0)
}

func (o *Oracle) call(op string, args any, result any, timeout time.Duration) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.broken != nil {
		return o.broken
	}
	o.nextID++
	id := o.nextID
	if args == nil {
		args = struct{}{}
	}
	req, err := json.Marshal(struct {
		ID   int64  `json:"id"`
		Op   string `json:"op"`
		Args any    `json:"args"`
	}{id, op, args})
	if err != nil {
		return fmt.Errorf("oracle %s: encode args: %w", op, err)
	}
	if _, err := o.stdin.Write(append(req, '\n')); err != nil {
		return o.fail(fmt.Errorf("oracle %s: write request: %w", op, err))
	}
	if timeout <= 0 {
		timeout = o.Timeout
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var a answer
	select {
	case a = <-o.answers:
	case <-o.done:
		return o.fail(fmt.Errorf("oracle %s: the oracle exited", op))
	case <-timer.C:
		return o.fail(fmt.Errorf("oracle %s: no answer within %v", op, timeout))
	}
	if a.bad != nil {
		return o.fail(fmt.Errorf("oracle %s: %w", op, a.bad))
	}
	if a.ID == nil || *a.ID != id {
		return o.fail(fmt.Errorf("oracle %s: answer for request %v, want %d", op, a.ID, id))
	}
	if !a.OK {
		class, msg, found := strings.Cut(a.Error, ": ")
		if !found {
			class, msg = "Error", a.Error
		}
		return &OracleError{Op: op, Class: class, Message: msg, Operation: a.Operation}
	}
	if result != nil {
		if err := json.Unmarshal(a.Result, result); err != nil {
			return fmt.Errorf("oracle %s: decode result: %w", op, err)
		}
	}
	return nil
}

// fail marks the oracle unusable: after a lost or garbled answer the request
// and answer streams can no longer be matched up. It kills the process so
// that nothing keeps running behind the test's back.
func (o *Oracle) fail(err error) error {
	if tail := o.stderr.String(); tail != "" {
		err = fmt.Errorf("%w\noracle stderr:\n%s", err, tail)
	}
	o.broken = err
	_ = o.cmd.Process.Kill()
	return err
}

// Close stops the oracle: it asks it to exit, waits briefly, and kills it
// otherwise. Start registers it with t.Cleanup; calling it earlier (to restart
// an oracle, say) is fine, and later calls return the first result.
func (o *Oracle) Close() error {
	o.closeOnce.Do(func() {
		callErr := o.call("close", nil, nil, 10*time.Second)
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.broken == nil {
			o.broken = errors.New("oracle: closed")
		}
		close(o.quit)
		_ = o.stdin.Close()
		select {
		case <-o.done:
		case <-time.After(10 * time.Second):
			_ = o.cmd.Process.Kill()
			<-o.done
		}
		waitErr := o.cmd.Wait()
		var oe *OracleError
		switch {
		case errors.As(callErr, &oe):
			o.closeErr = callErr
		case callErr != nil:
			// Already dead: the error that killed it was reported by the call that saw it.
		case waitErr != nil:
			o.closeErr = fmt.Errorf("oracle exit: %w", waitErr)
		}
	})
	return o.closeErr
}

// Stderr is what the oracle has written to stderr so far (its last 64 KiB):
// libsignal's log, which often says why a message was rejected.
func (o *Oracle) Stderr() string { return o.stderr.String() }

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
