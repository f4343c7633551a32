package loadgen

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run measured. Every rate is per second of the running
// phase (after set-up), unless its name says otherwise.
type Report struct {
	Targets []string `json:"targets"`
	// Nodes are the figures per server, in the order of Targets.
	Nodes      []NodeReport `json:"nodes"`
	Mix        string       `json:"mix"`
	Embedded   bool         `json:"embedded"`
	Store      string       `json:"store,omitempty"` // set by the caller for an embedded server
	Devices    int          `json:"devices"`         // asked for
	Registered int          `json:"registered"`      // registered and connected in set-up
	Payload    int          `json:"payload_bytes"`
	TargetRate float64      `json:"target_rate,omitempty"`

	Sources        []string  `json:"source_addresses"`
	FileLimit      FileLimit `json:"file_limit"`
	FileLimitError string    `json:"file_limit_error,omitempty"`

	SetupSeconds float64 `json:"setup_seconds"`
	// ConnectRate is devices registered and connected per second of set-up.
	ConnectRate float64 `json:"connect_rate"`
	// RunSeconds is the running phase: the traffic (or hold) and the drain.
	RunSeconds  float64 `json:"run_seconds"`
	SendSeconds float64 `json:"send_seconds"`

	Messages Counts `json:"messages"`
	// CrossNode is how many of the messages sent went to a device
	// connected to another node than their sender's.
	CrossNode int64 `json:"cross_node_sent"`
	// SendRate is sends per second while sending; Throughput is messages
	// acked per second, from the first send to the last ack.
	SendRate   float64 `json:"send_rate"`
	Throughput float64 `json:"throughput"`

	// Latency is sender to recipient, for messages delivered to a device
	// that was online; Queued is for messages waiting for a device that
	// was offline (churn), delivered when it came back; Drain is from a
	// returning device's connect to the end of its backlog.
	Latency    Latency  `json:"latency"`
	Queued     *Latency `json:"queued_latency,omitempty"`
	Drain      *Latency `json:"drain,omitempty"`
	Reconnects int64    `json:"reconnects,omitempty"`

	Errors map[string]int64 `json:"errors"`

	CPU struct {
		// TotalSeconds is this process's CPU time for the whole run;
		// RunSeconds for the running phase only.
		TotalSeconds float64 `json:"total_seconds"`
		RunSeconds   float64 `json:"run_seconds"`
		// PerMessageMicros is RunSeconds per message acked.
		PerMessageMicros float64 `json:"per_message_us,omitempty"`
	} `json:"cpu"`
	Process struct {
		RSS     uint64 `json:"rss_bytes"`
		PeakRSS uint64 `json:"peak_rss_bytes"`
	} `json:"process"`

	// Memory is the growth per connected device from before set-up to
	// after it, before any traffic.
	Memory struct {
		Connections int64 `json:"connections"`
		// Process figures are this process's: with an embedded server
		// they cover both ends of each connection.
		ProcessGoPerConn  float64 `json:"process_go_bytes_per_conn"`
		ProcessRSSPerConn float64 `json:"process_rss_bytes_per_conn"`
		// Server figures come from the server's /metrics (the process
		// collector and the Go runtime collector), so for a separate
		// server they are the server's alone. The Go figure is the heap
		// in use and the stacks, as the server's last collection left
		// them.
		ServerGoPerConn  float64 `json:"server_go_bytes_per_conn,omitempty"`
		ServerRSSPerConn float64 `json:"server_rss_bytes_per_conn,omitempty"`
		ServerGoroutines float64 `json:"server_goroutines_per_conn,omitempty"`
	} `json:"memory"`
	Server struct {
		// CPURunSeconds is the servers' CPU time in the running phase,
		// from their /metrics, all nodes together.
		CPURunSeconds float64 `json:"cpu_run_seconds,omitempty"`
	} `json:"server"`
}

// NodeReport is one server's share of a run.
type NodeReport struct {
	URL     string `json:"url"`
	Devices int    `json:"devices"` // registered on it in set-up
	// CPURunSeconds is its CPU time in the running phase, from its
	// /metrics; 0 when not every node exposes them.
	CPURunSeconds float64 `json:"cpu_run_seconds,omitempty"`
}

// serverCPU fills the servers' CPU time in the running phase, from a
// scrape of every node now and the samples at its start; a node that does
// not answer leaves every figure at 0 rather than a partial sum.
func (rep *Report) serverCPU(ctx context.Context, metricsURLs []string, start []serverMetrics) {
	run := make([]float64, len(metricsURLs))
	for i, u := range metricsURLs {
		m, err := scrape(ctx, u)
		if err != nil || i >= len(start) {
			return
		}
		run[i] = m.cpuSeconds - start[i].cpuSeconds
	}
	for i, secs := range run {
		rep.Nodes[i].CPURunSeconds = secs
		rep.Server.CPURunSeconds += secs
	}
}

// memory fills the per-connection figures from two samples.
func (rep *Report) memory(base, held memSample, conns int64) {
	rep.Memory.Connections = conns
	if conns <= 0 {
		return
	}
	n := float64(conns)
	rep.Memory.ProcessGoPerConn = (float64(held.goBytes) - float64(base.goBytes)) / n
	rep.Memory.ProcessRSSPerConn = (float64(held.rss) - float64(base.rss)) / n
	if base.serverSet && held.serverSet {
		b, h := base.server(), held.server()
		rep.Memory.ServerGoPerConn = (h.goBytes - b.goBytes) / n
		rep.Memory.ServerRSSPerConn = (h.rss - b.rss) / n
		rep.Memory.ServerGoroutines = (h.goroutines - b.goroutines) / n
	}
}

// finish computes what is left once the run is over.
func (r *run) finish() {
	rep := &r.report
	if rep.SetupSeconds > 0 {
		rep.ConnectRate = float64(rep.Registered) / rep.SetupSeconds
	}
	rep.Messages = r.ledger.counts()
	rep.CrossNode = r.crossNode.Load()
	for _, d := range r.devs {
		rep.Nodes[d.node].Devices++
	}
	if !r.sendEnd.IsZero() {
		rep.SendSeconds = r.sendEnd.Sub(r.runStart).Seconds()
	}
	if rep.SendSeconds > 0 {
		rep.SendRate = float64(rep.Messages.Sent) / rep.SendSeconds
	}
	if last := r.lastAck.Load(); last > 0 {
		if secs := time.Unix(0, last).Sub(r.runStart).Seconds(); secs > 0 {
			rep.Throughput = float64(rep.Messages.Acked) / secs
		}
	}
	rep.Latency = r.live.Summary()
	if r.cfg.Mix == MixChurn {
		q, d := r.queued.Summary(), r.drainLat.Summary()
		rep.Queued, rep.Drain = &q, &d
		rep.Reconnects = r.reconnects.Load()
	}
	rep.Errors = r.errorsCopy()
	rep.CPU.TotalSeconds = (cpuTime() - r.cpu0).Seconds()
	if rep.Messages.Acked > 0 {
		rep.CPU.PerMessageMicros = rep.CPU.RunSeconds * 1e6 / float64(rep.Messages.Acked)
	}
	rep.Process.RSS, rep.Process.PeakRSS = procStatus()
}

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(name, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{name}, a...)...) }
	server := strings.Join(rep.Targets, ", ")
	if rep.Embedded {
		server += " (embedded, " + redact(rep.Store) + ")"
	}
	p("server", "%s", server)
	if len(rep.Nodes) > 1 {
		var parts []string
		for i, n := range rep.Nodes {
			part := fmt.Sprintf("%d: %d devices", i+1, n.Devices)
			if n.CPURunSeconds > 0 {
				part += fmt.Sprintf(", %.1f s CPU running", n.CPURunSeconds)
			}
			parts = append(parts, part)
		}
		p("nodes", "%d, devices round-robin; %s", len(rep.Nodes), strings.Join(parts, "; "))
	}
	p("mix", "%s, %d-byte payloads", rep.Mix, rep.Payload)
	p("devices", "%d of %d registered and connected in %.1f s (%.0f/s)", rep.Registered, rep.Devices, rep.SetupSeconds, rep.ConnectRate)
	p("sources", "%s; open files %d (was %d, hard %d)", sourceList(rep.Sources), rep.FileLimit.After, rep.FileLimit.Before, rep.FileLimit.Hard)
	if rep.Mix != string(MixIdle) {
		m := rep.Messages
		p("messages", "%d sent, %d accepted, %d delivered, %d acked", m.Sent, m.Accepted, m.Delivered, m.Acked)
		if len(rep.Nodes) > 1 {
			p("", "%d sent to a device on another node (%.0f %%)", rep.CrossNode, 100*float64(rep.CrossNode)/max(1, float64(m.Sent)))
		}
		p("", "%d failed, %d unanswered, %d missing, %d duplicates, %d redelivered, %d delivered though not accepted",
			m.Failed, m.Unanswered, m.Missing, m.Duplicates, m.Redelivered, m.DeliveredNotAccepted)
		p("rate", "target %.0f/s, sent %.0f/s over %.1f s; throughput %.0f msgs/s acked", rep.TargetRate, rep.SendRate, rep.SendSeconds, rep.Throughput)
		p("latency", "%s", rep.Latency)
		if rep.Queued != nil {
			p("queued latency", "%s", *rep.Queued)
			p("drain", "%s (%d reconnects)", *rep.Drain, rep.Reconnects)
		}
	} else {
		p("held", "%.1f s", rep.RunSeconds)
	}
	if len(rep.Errors) == 0 {
		p("errors", "none")
	} else {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(rep.Errors)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, rep.Errors[k]))
		}
		p("errors", "%s", strings.Join(parts, ", "))
	}
	cpu := fmt.Sprintf("%.1f s in all, %.1f s running", rep.CPU.TotalSeconds, rep.CPU.RunSeconds)
	if rep.CPU.PerMessageMicros > 0 {
		cpu += fmt.Sprintf(" (%.0f µs per message)", rep.CPU.PerMessageMicros)
	}
	if rep.Server.CPURunSeconds > 0 && !rep.Embedded {
		who := "server"
		if len(rep.Nodes) > 1 {
			who = "servers together"
		}
		cpu += fmt.Sprintf("; %s %.1f s running", who, rep.Server.CPURunSeconds)
		if rep.Messages.Acked > 0 {
			cpu += fmt.Sprintf(" (%.0f µs per message)", rep.Server.CPURunSeconds*1e6/float64(rep.Messages.Acked))
		}
	}
	p("cpu", "%s", cpu)
	p("process rss", "%s now, %s peak", bytesText(float64(rep.Process.RSS)), bytesText(float64(rep.Process.PeakRSS)))
	mm := rep.Memory
	who := "this process (load generator)"
	if rep.Embedded {
		who = "this process (server and load generator)"
	}
	p("memory/conn", "%s Go heap+stacks, %s RSS: %s, %d connections",
		bytesText(mm.ProcessGoPerConn), bytesText(mm.ProcessRSSPerConn), who, mm.Connections)
	if mm.ServerRSSPerConn != 0 && !rep.Embedded {
		p("", "%s Go heap+stacks, %s RSS, %.1f goroutines: the server(s), from /metrics",
			bytesText(mm.ServerGoPerConn), bytesText(mm.ServerRSSPerConn), mm.ServerGoroutines)
	}
	return tw.Flush()
}

func (l Latency) String() string {
	if l.Count == 0 {
		return "none measured"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s ms (%d messages)",
		ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), l.Count)
}

func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func bytesText(b float64) string {
	switch {
	case b >= 1<<30 || b <= -(1<<30):
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	case b >= 1<<20 || b <= -(1<<20):
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10 || b <= -(1<<10):
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

func sourceList(s []string) string {
	switch len(s) {
	case 0:
		return "default"
	case 1:
		return s[0]
	}
	return fmt.Sprintf("%d addresses, %s to %s", len(s), s[0], s[len(s)-1])
}

// redact hides a password in a store URL.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if c := strings.Index(dsn[i+3:at], ":"); c >= 0 {
				return dsn[:i+3+c] + ":xxxxx" + dsn[at:]
			}
		}
	}
	return dsn
}
