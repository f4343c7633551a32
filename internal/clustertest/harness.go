// Package clustertest runs Parley as an operator runs a cluster: several
// `parley serve` processes, built from cmd/parley, sharing one PostgreSQL
// database and one NATS, each on its own loopback port. Its tests kill
// nodes with SIGKILL, restart PostgreSQL and NATS, and start nodes while
// others serve, with devices speaking the wire protocol throughout.
//
// The shared services come from PARLEY_TEST_POSTGRES and PARLEY_TEST_NATS
// (make services starts them); a test that restarts a service starts a
// private one instead, so that other packages running in parallel keep
// theirs. Without a service a test is skipped, and under CI=true it fails.
package clustertest

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to wait for a private PostgreSQL
)

// CodeSecret is the --code-secret every node of a test cluster shares.
const CodeSecret = "clustertest-shared-code-secret"

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// Binary builds cmd/parley once per test process and returns its path.
// Under -race the binary is built with the race detector too, and a node
// that reports a race fails its test.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "parley-clustertest-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "parley")
		args := []string{"build", "-o", build.bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/parley-im/parley/cmd/parley")
		cmd := exec.Command(goTool(), args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build cmd/parley: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// Cleanup removes the built binary; call it from TestMain after m.Run.
func Cleanup() {
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// required skips the test, or fails it under CI, where a missing service is
// a broken pipeline rather than a reason to test less.
func required(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// FreePort returns a loopback port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Options configure one node.
type Options struct {
	Name  string // --node-name; default node-N
	Store string // --store, a postgres:// DSN
	NATS  string // --nats
	Args  []string
}

// Node is one `parley serve` process.
type Node struct {
	Name string
	Addr string // 127.0.0.1:port
	URL  string // ws://127.0.0.1:port/v1/ws
	HTTP string // http://127.0.0.1:port

	t      testing.TB
	cmd    *exec.Cmd
	exited chan struct{}
	log    *lineLog
}

var nodeSeq struct {
	sync.Mutex
	n int
}

// StartNode starts a node and returns once it serves and /healthz says its
// store and bus are up. The node is killed when the test ends if it still
// runs; its log is printed if the test failed.
func StartNode(t testing.TB, o Options) *Node {
	t.Helper()
	bin := Binary(t)
	nodeSeq.Lock()
	nodeSeq.n++
	seq := nodeSeq.n
	nodeSeq.Unlock()
	if o.Name == "" {
		o.Name = fmt.Sprintf("node-%d", seq)
	}
	// Nodes alternate between the readiness modes, so that every test
	// here runs a cluster that mixes them, as a rolling change would.
	readiness := "goroutine"
	if seq%2 == 0 {
		readiness = "epoll"
	}
	args := []string{"serve", "--readiness", readiness,
		"--listen", "127.0.0.1:0", "--store", o.Store, "--nats", o.NATS, "--node-name", o.Name,
		"--code-secret", CodeSecret, "--code-sender", "fixed", "--fixed-code", "123456",
		"--ip-rate-limit", "-1", "--code-interval", "1ms",
		"--log-format", "json", "--shutdown-timeout", "10s",
	}
	args = append(args, o.Args...)
	cmd := exec.Command(bin, args...)
	// The node's environment must not configure it behind the flags' back.
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{Name: o.Name, t: t, cmd: cmd, exited: make(chan struct{}), log: &lineLog{}}
	serving := make(chan string, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", o.Name, err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			n.log.add(line)
			if strings.Contains(line, `"msg":"parley serving"`) {
				var rec struct{ Addr string }
				if json.Unmarshal([]byte(line), &rec) == nil {
					select {
					case serving <- rec.Addr:
					default:
					}
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.Kill()
		if raceEnabled && n.log.contains("WARNING: DATA RACE") {
			t.Errorf("node %s reported a data race", n.Name)
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", n.Name, n.log.tail(60))
		}
	})
	select {
	case addr := <-serving:
		n.Addr, n.URL, n.HTTP = addr, "ws://"+addr+"/v1/ws", "http://"+addr
	case <-n.exited:
		t.Fatalf("node %s exited at start:\n%s", o.Name, n.log.tail(30))
	case <-time.After(60 * time.Second):
		t.Fatalf("node %s did not start within 60s:\n%s", o.Name, n.log.tail(30))
	}
	if !WaitHealthy(n.HTTP, 30*time.Second) {
		t.Fatalf("node %s is not healthy:\n%s", o.Name, n.log.tail(30))
	}
	return n
}

// cleanEnv is the test's environment without PARLEY_ settings.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			env = append(env, kv)
		}
	}
	return env
}

// Health is the node's /healthz status code, 0 when it does not answer.
func (n *Node) Health() int {
	return health(n.HTTP)
}

func health(base string) int {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// WaitHealthy polls /healthz under base until it answers 200.
func WaitHealthy(base string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if health(base) == http.StatusOK {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Metrics returns the node's /metrics text.
func (n *Node) Metrics() string {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(n.HTTP + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Kill ends the node with SIGKILL, as a crash or the OOM killer would, and
// waits for the process to be gone.
func (n *Node) Kill() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// Stop asks the node to shut down (SIGTERM) and waits for it, as an
// operator taking it out of service does.
func (n *Node) Stop() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		n.t.Errorf("node %s did not stop within 30s of SIGTERM", n.Name)
		n.Kill()
	}
}

// Pause stops the node's process (SIGSTOP) without ending it: to the
// others it falls silent, as a node cut off from the network or stalled
// does, while its connections stay open.
func (n *Node) Pause() { _ = n.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume lets a paused node run again (SIGCONT).
func (n *Node) Resume() { _ = n.cmd.Process.Signal(syscall.SIGCONT) }

// Log returns the node's log so far.
func (n *Node) Log() string { return n.log.tail(1 << 30) }

// WaitLog waits until the node logged a line that match accepts, and
// returns it; "" after within.
func (n *Node) WaitLog(within time.Duration, match func(line string) bool) string {
	deadline := time.Now().Add(within)
	for {
		if line := n.log.find(match); line != "" {
			return line
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lineLog keeps a node's log lines.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *lineLog) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func (l *lineLog) find(match func(string) bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if match(line) {
			return line
		}
	}
	return ""
}

func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Postgres is a private PostgreSQL server in a temporary directory, for a
// test that stops and restarts it.
type Postgres struct {
	DSN  string
	Port int

	t    testing.TB
	bin  string
	dir  string
	cred *syscall.Credential
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
	mu   sync.Mutex
}

// postgresBin finds the newest /usr/lib/postgresql/*/bin with initdb.
func postgresBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestV := "", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil && v > bestV {
			best, bestV = d, v
		}
	}
	return best
}

// StartPostgres initialises and starts a private PostgreSQL on a free
// port. PostgreSQL refuses to run as root, so as root it runs as the user
// postgres, in a directory that user owns.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		required(t, "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
	}
	p := &Postgres{t: t, bin: bin, Port: FreePort(t)}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			required(t, "running as root and there is no user postgres to run a private PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if p.cred != nil {
		if err := os.Chown(dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	p.dir = filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", p.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
	t.Cleanup(func() { p.Kill() })
	p.Start()
	return p
}

// Start starts the server on its directory and port and waits until it
// accepts queries.
func (p *Postgres) Start() {
	p.t.Helper()
	p.mu.Lock()
	p.log = new(lockedBuffer)
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", p.dir, "-p", strconv.Itoa(p.Port),
		"-h", "127.0.0.1", "-k", "", "-c", "max_connections=100", "-c", "shared_buffers=16MB")
	cmd.Dir = filepath.Dir(p.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		p.t.Fatalf("start postgres: %v", err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	done := p.done
	go func() { _ = cmd.Wait(); close(done) }()
	p.mu.Unlock()

	db, err := sql.Open("pgx", p.DSN)
	if err != nil {
		p.t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			p.t.Fatalf("postgres exited at start:\n%s", p.logText())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("postgres did not accept connections within 30s: %v\n%s", err, p.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *Postgres) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Crash stops the server with an immediate shutdown (SIGQUIT): every
// backend dies at once without a checkpoint, as in a crash, and the next
// Start recovers from the write-ahead log.
func (p *Postgres) Crash() { p.signal(syscall.SIGQUIT) }

// Kill stops the server the same way; for cleanup.
func (p *Postgres) Kill() { p.signal(syscall.SIGQUIT) }

func (p *Postgres) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// lockedBuffer is an output buffer a test may read while a process writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// NATS is a private nats-server with JetStream, for a test that restarts
// it, or one server of a NATS cluster.
type NATS struct {
	URL  string
	Port int
	// Monitor is the server's HTTP monitoring port; 0 when it has none.
	Monitor int

	t    testing.TB
	dir  string
	args []string // beyond the address, port and monitoring port
	cmd  *exec.Cmd
	done chan struct{}
}

const natsServer = "/usr/sbin/nats-server"

// StartNATS starts a private nats-server on a free port.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	if _, err := os.Stat(natsServer); err != nil {
		required(t, "%s is not installed (apt-get install nats-server)", natsServer)
	}
	n := &NATS{t: t, dir: t.TempDir(), Port: FreePort(t)}
	n.URL = fmt.Sprintf("nats://127.0.0.1:%d", n.Port)
	n.args = []string{"-js", "-sd", n.dir}
	t.Cleanup(n.Kill)
	n.Start()
	return n
}

// StartNATSCluster starts n nats-servers routed into one cluster on
// loopback ports, each with a monitoring port, and returns once every
// server has a route to every other. They run without JetStream: a node
// on them keeps media in files.
func StartNATSCluster(t testing.TB, n int) []*NATS {
	t.Helper()
	if _, err := os.Stat(natsServer); err != nil {
		required(t, "%s is not installed (apt-get install nats-server)", natsServer)
	}
	servers := make([]*NATS, n)
	routePorts := make([]int, n)
	for i := range servers {
		servers[i] = &NATS{t: t, dir: t.TempDir(), Port: FreePort(t), Monitor: FreePort(t)}
		servers[i].URL = fmt.Sprintf("nats://127.0.0.1:%d", servers[i].Port)
		routePorts[i] = FreePort(t)
	}
	for i, srv := range servers {
		var routes []string
		for j, p := range routePorts {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
			}
		}
		srv.args = []string{"--name", fmt.Sprintf("nats-%d", i+1), "--cluster_name", "parley-test",
			"--cluster", fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i]), "--routes", strings.Join(routes, ",")}
		t.Cleanup(srv.Kill)
		srv.Start()
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, srv := range servers {
		for srv.Routes() < n-1 { // 2.10 and later may pool several routes per server
			if time.Now().After(deadline) {
				t.Fatalf("NATS server on port %d has %d routes, want %d, after 15s", srv.Port, srv.Routes(), n-1)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	return servers
}

// monitor decodes the server's monitoring endpoint path into v.
func (n *NATS) monitor(path string, v any) error {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", n.Monitor, path))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// Routes is how many routes to other servers of its cluster the server
// has; -1 when it does not answer.
func (n *NATS) Routes() int {
	var rz struct {
		NumRoutes int `json:"num_routes"`
	}
	if err := n.monitor("/routez", &rz); err != nil {
		return -1
	}
	return rz.NumRoutes
}

// HasClient reports whether a client connection named name is on the
// server. A node's connection is named "parley-" and its --node-name.
func (n *NATS) HasClient(name string) bool {
	var cz struct {
		Connections []struct {
			Name string `json:"name"`
		} `json:"connections"`
	}
	if err := n.monitor("/connz?limit=1024", &cz); err != nil {
		return false
	}
	for _, c := range cz.Connections {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Start starts the server on its port and store directory and waits until
// it greets connections.
func (n *NATS) Start() {
	n.t.Helper()
	args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(n.Port)}
	if n.Monitor != 0 {
		args = append(args, "-m", strconv.Itoa(n.Monitor))
	}
	cmd := exec.Command(natsServer, append(args, n.args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start nats-server: %v", err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	done := n.done
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if natsGreets(n.Port) {
			return
		}
		select {
		case <-done:
			n.t.Fatalf("nats-server exited at start:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("nats-server did not start within 15s")
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// natsGreets reports whether a NATS server answers on port with its INFO line.
func natsGreets(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil {
		return false
	}
	return string(b) == "INFO"
}

// Kill ends the server with SIGKILL and waits for it.
func (n *NATS) Kill() {
	if n.cmd == nil {
		return
	}
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}
