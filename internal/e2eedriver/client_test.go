package e2eedriver

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
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

	"github.com/parley-im/parley/interop"
)

// caller is one running implementation of the driver protocol: our driver
// (in this process or as the built command), the libsignal oracle
// (*interop.Oracle), or any other program that speaks it. Scenarios talk to
// every implementation only through this, so that each can play each part.
// A refused request is an *interop.OracleError whatever the implementation.
type caller interface {
	Call(op string, args any, result any) error
	Close() error
}

// impl names an implementation and starts instances of it.
type impl struct {
	name  string
	start func(t *testing.T) caller
}

var (
	goImpl  = impl{"go", func(t *testing.T) caller { return startInProcess(t) }}
	libImpl = impl{"libsignal", func(t *testing.T) caller { return interop.Start(t) }}
)

// lineClient drives a JSON-lines implementation over a pair of streams.
type lineClient struct {
	mu     sync.Mutex
	w      io.WriteCloser
	r      *bufio.Reader
	nextID int64
	wait   func() error // waits for the implementation to end, after w is closed

	closeOnce sync.Once
	closeErr  error
}

// startInProcess runs a Driver on in-memory pipes, stopped by t.Cleanup.
func startInProcess(t testing.TB) *lineClient {
	reqR, reqW := io.Pipe()
	ansR, ansW := io.Pipe()
	served := make(chan error, 1)
	go func() {
		err := New().Serve(reqR, ansW)
		// Unblock both directions: the client sees the end of the answers,
		// and a write after close fails instead of hanging.
		ansW.Close()
		reqR.Close()
		served <- err
	}()
	c := &lineClient{w: reqW, r: bufio.NewReader(ansR), wait: func() error { return <-served }}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("stop driver: %v", err)
		}
	})
	return c
}

// startCommand runs a program that speaks the protocol on stdin and stdout.
func startCommand(t testing.TB, name string, arg ...string) *lineClient {
	cmd := exec.Command(name, arg...)
	cmd.Stderr = os.Stderr
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &lineClient{w: w, r: bufio.NewReader(r), wait: cmd.Wait}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("stop %s: %v", name, err)
		}
	})
	return c
}

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// TestMain removes the command buildCommand built.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtPath != "" {
		os.RemoveAll(filepath.Dir(builtPath))
	}
	os.Exit(code)
}

// buildCommand builds cmd/parley-e2ee once per test binary.
func buildCommand(t testing.TB) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-e2ee-")
		if err != nil {
			buildErr = err
			return
		}
		goCmd, err := exec.LookPath("go")
		if err != nil {
			buildErr = err
			return
		}
		builtPath = filepath.Join(dir, "parley-e2ee")
		out, err := exec.Command(goCmd, "build", "-o", builtPath, "github.com/parley-im/parley/cmd/parley-e2ee").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/parley-e2ee: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtPath
}

type lineAnswer struct {
	ID        *int64          `json:"id"`
	OK        bool            `json:"ok"`
	Result    json.RawMessage `json:"result"`
	Error     string          `json:"error"`
	Operation string          `json:"operation"`
}

func (c *lineClient) Call(op string, args any, result any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	id := c.nextID
	if args == nil {
		args = struct{}{}
	}
	req, err := json.Marshal(map[string]any{"id": id, "op": op, "args": args})
	if err != nil {
		return fmt.Errorf("%s: encode args: %w", op, err)
	}
	if _, err := c.w.Write(append(req, '\n')); err != nil {
		return fmt.Errorf("%s: write: %w", op, err)
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", op, err)
	}
	var a lineAnswer
	if err := json.Unmarshal(line, &a); err != nil {
		return fmt.Errorf("%s: answer is not JSON: %v: %.200q", op, err, line)
	}
	if a.ID == nil || *a.ID != id {
		return fmt.Errorf("%s: answer for request %v, want %d", op, a.ID, id)
	}
	if !a.OK {
		class, msg, found := strings.Cut(a.Error, ": ")
		if !found {
			class, msg = "Error", a.Error
		}
		return &interop.OracleError{Op: op, Class: class, Message: msg, Operation: a.Operation}
	}
	if result != nil {
		if err := json.Unmarshal(a.Result, result); err != nil {
			return fmt.Errorf("%s: decode result: %w", op, err)
		}
	}
	return nil
}

// Close asks the implementation to exit and waits for it (10 s at most).
func (c *lineClient) Close() error {
	c.closeOnce.Do(func() {
		callErr := c.Call("close", nil, nil)
		c.w.Close()
		done := make(chan error, 1)
		go func() { done <- c.wait() }()
		select {
		case err := <-done:
			c.closeErr = errors.Join(callErr, err)
		case <-time.After(10 * time.Second):
			c.closeErr = errors.New("did not exit within 10s of close")
		}
	})
	return c.closeErr
}

// aciName returns a fresh name shaped like a Signal ACI (a UUID string).
func aciName(t testing.TB) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// classOfErr is the class of a refusal, failing the test for any other
// error (a broken stream, a success).
func classOfErr(t testing.TB, err error) string {
	t.Helper()
	var oe *interop.OracleError
	if !errors.As(err, &oe) {
		t.Fatalf("got %v, want a refused request", err)
	}
	return oe.Class
}
