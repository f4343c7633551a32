package server_test

import (
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// BenchmarkMessageThroughput measures the whole path of a message through
// one node over real WebSockets on loopback: a sender's Send is stored
// durably (group commit), pushed to the online recipient, acked, and
// deleted. b.N messages are spread over pairs of devices; the figures are
// messages per second until the last ack is answered, and the latency from
// send to receipt.
func BenchmarkMessageThroughput(b *testing.B) {
	for _, backend := range testserver.Backends {
		b.Run(string(backend), func(b *testing.B) {
			const pairs, inflightPerSender = 16, 16
			srv := testserver.Start(b, testserver.Options{Backend: backend})
			senders := make([]*transport.Conn, pairs)
			receivers := make([]*transport.Conn, pairs)
			dests := make([]*testserver.Device, pairs)
			for i := range pairs {
				senders[i] = srv.Dial(b)
				testserver.Register(b, senders[i])
				receivers[i] = srv.Dial(b)
				dests[i] = testserver.Register(b, receivers[i])
			}
			var (
				acked   atomic.Int64
				latMu   sync.Mutex
				lat     []time.Duration
				allDone = make(chan struct{})
				once    sync.Once
			)
			total := int64(b.N)
			for _, rc := range receivers {
				go func() {
					for f := range rc.Events() {
						envs := f.GetDeliver().GetEnvelopes()
						if len(envs) == 0 {
							continue
						}
						now := time.Now()
						ids := make([]uint64, len(envs))
						latMu.Lock()
						for i, e := range envs {
							ids[i] = e.Id
							lat = append(lat, now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(e.Content)))))
						}
						latMu.Unlock()
						go func() {
							if _, err := rc.Call(context.Background(), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ack{Ack: &wirepb.Ack{Ids: ids}}}); err != nil {
								return
							}
							if acked.Add(int64(len(ids))) >= total {
								once.Do(func() { close(allDone) })
							}
						}()
					}
				}()
			}
			payload := make([]byte, 160) // the size of a short text message after encryption
			b.ResetTimer()
			start := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			for i := range pairs {
				for range inflightPerSender {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= total {
							content := slices.Clone(payload)
							binary.BigEndian.PutUint64(content, uint64(time.Now().UnixNano()))
							mid := types.NewMessageID()
							_, err := senders[i].Call(context.Background(), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Send{Send: &wirepb.Send{
								MessageId: mid[:], Destination: dests[i].Addr.Account[:],
								Envelopes: []*wirepb.OutgoingEnvelope{{DeviceId: 1, Type: 1, Content: content}}}}})
							if err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
			}
			wg.Wait()
			select {
			case <-allDone:
			case <-time.After(2 * time.Minute):
				b.Fatalf("only %d of %d acked", acked.Load(), total)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
			if commits, sends, secs := commitStats(b, srv.HTTP); commits > 0 {
				b.ReportMetric(sends/commits, "sends/commit")
				b.ReportMetric(secs/commits*1000, "commit-ms")
			}
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

// commitStats reads the group-commit histograms from the node's /metrics.
func commitStats(b *testing.B, base string) (commits, sends, seconds float64) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		switch name {
		case "parley_mailbox_commit_sends_count":
			commits = v
		case "parley_mailbox_commit_sends_sum":
			sends = v
		case "parley_mailbox_commit_seconds_sum":
			seconds = v
		}
	}
	return commits, sends, seconds
}

// BenchmarkDrain measures how fast a device that comes online receives and
// acks a backlog of 10 000 queued envelopes (the store-and-forward path:
// fetch in pages, push, ack, delete).
func BenchmarkDrain(b *testing.B) {
	for _, backend := range testserver.Backends {
		b.Run(string(backend), func(b *testing.B) {
			const backlog = 10_000
			srv := testserver.Start(b, testserver.Options{Backend: backend})
			ac, bc := srv.Dial(b), srv.Dial(b)
			testserver.Register(b, ac)
			bob := testserver.Register(b, bc)
			bc.Close()
			payload := make([]byte, 160)
			var total time.Duration
			for range b.N {
				b.StopTimer()
				var wg sync.WaitGroup
				var next atomic.Int64
				for range 32 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= backlog {
							mid := types.NewMessageID()
							if _, err := ac.Call(context.Background(), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Send{Send: &wirepb.Send{
								MessageId: mid[:], Destination: bob.Addr.Account[:],
								Envelopes: []*wirepb.OutgoingEnvelope{{DeviceId: 1, Type: 1, Content: payload}}}}}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StartTimer()
				start := time.Now()
				c := srv.Connect(b, bob)
				got := 0
				var ackWG sync.WaitGroup
				for got < backlog {
					f := <-c.Events()
					envs := f.GetDeliver().GetEnvelopes()
					if len(envs) == 0 {
						continue
					}
					got += len(envs)
					ids := make([]uint64, len(envs))
					for i, e := range envs {
						ids[i] = e.Id
					}
					ackWG.Add(1)
					go func() {
						defer ackWG.Done()
						if _, err := c.Call(context.Background(), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ack{Ack: &wirepb.Ack{Ids: ids}}}); err != nil {
							b.Error(err)
						}
					}()
				}
				ackWG.Wait()
				total += time.Since(start)
				c.Close()
			}
			b.ReportMetric(total.Seconds()*1000/float64(b.N), "ms/backlog")
			b.ReportMetric(float64(backlog*b.N)/total.Seconds(), "envelopes/s")
		})
	}
}
