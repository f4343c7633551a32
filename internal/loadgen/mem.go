package loadgen

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// FileLimit is what raiseFileLimit did to RLIMIT_NOFILE.
type FileLimit struct {
	Wanted uint64 `json:"wanted"`
	Before uint64 `json:"before"`
	After  uint64 `json:"after"`
	Hard   uint64 `json:"hard"`
}

// procStatus reads VmRSS and VmHWM (peak RSS) of this process, in bytes;
// zeros where /proc is not there.
func procStatus() (rss, peak uint64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, rest, ok := strings.Cut(s.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak
}

// memSample is one look at memory: of this process (Go heap and stacks
// after a collection, RSS) and, when every node exposes /metrics, of the
// servers as they report themselves.
type memSample struct {
	goBytes   uint64 // HeapInuse + StackInuse, after a GC
	rss       uint64
	servers   []serverMetrics // one per node, when serverSet
	serverSet bool
}

// server is the nodes' figures added up.
func (s memSample) server() serverMetrics {
	var sum serverMetrics
	for _, m := range s.servers {
		sum.rss += m.rss
		sum.cpuSeconds += m.cpuSeconds
		sum.goBytes += m.goBytes
		sum.goroutines += m.goroutines
		sum.conns += m.conns
	}
	return sum
}

func sampleMemory(ctx context.Context, metricsURLs []string) memSample {
	runtime.GC()
	runtime.GC() // the second collection frees what the first one's finalizers released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := procStatus()
	s := memSample{goBytes: ms.HeapInuse + ms.StackInuse, rss: rss}
	s.serverSet = len(metricsURLs) > 0
	for _, u := range metricsURLs {
		m, err := scrape(ctx, u)
		if u == "" || err != nil {
			// A node without /metrics makes every server figure partial,
			// so none is reported.
			s.servers, s.serverSet = nil, false
			break
		}
		s.servers = append(s.servers, m)
	}
	return s
}

// serverMetrics are the server's own figures from its /metrics.
type serverMetrics struct {
	rss        float64 // process_resident_memory_bytes
	cpuSeconds float64 // process_cpu_seconds_total
	goBytes    float64 // go_memstats_heap_inuse_bytes + go_memstats_stack_inuse_bytes
	goroutines float64
	conns      float64 // parley_gateway_authenticated_connections
}

// scrape reads the few series the report uses from a Prometheus text page.
func scrape(ctx context.Context, url string) (serverMetrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return serverMetrics{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return serverMetrics{}, err
	}
	defer resp.Body.Close()
	var m serverMetrics
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		name, value, ok := strings.Cut(s.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			m.rss = v
		case "process_cpu_seconds_total":
			m.cpuSeconds = v
		case "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes":
			m.goBytes += v
		case "go_goroutines":
			m.goroutines = v
		case "parley_gateway_authenticated_connections":
			m.conns = v
		}
	}
	return m, s.Err()
}
