package server_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// BenchmarkGroupFanout measures one message to a full group of 1024
// members, every member's device online over its own WebSocket on
// loopback: from the sender's SendGroup until the last of the other 1023
// devices has the envelope (stored once, fanned out, published, pushed).
// Each device acks what it gets, as a client does. The figures are the
// time to the last device, the median and the first, the time until the
// sender is told the message was accepted (stored), and fan-out deliveries
// per second.
func BenchmarkGroupFanout(b *testing.B) {
	for _, backend := range testserver.Backends {
		b.Run(string(backend), func(b *testing.B) {
			const members = 1024
			srv := testserver.Start(b, testserver.Options{Backend: backend})
			devs := make([]*testserver.Device, members)
			conns := make([]*transport.Conn, members)
			var wg sync.WaitGroup
			var next atomic.Int64
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := int(next.Add(1)) - 1; i < members; i = int(next.Add(1)) - 1 {
						conns[i] = srv.Dial(b)
						devs[i] = testserver.Register(b, conns[i])
					}
				}()
			}
			wg.Wait()
			// A registration that failed ended its goroutine with the error logged.
			if slices.Contains(devs, nil) {
				b.Fatal("registering the members failed")
			}

			// Every device takes what is pushed to it and acks envelopes;
			// the first group message of each round is timed.
			var (
				mu       sync.Mutex
				round    types.MessageID
				got      []time.Time
				allIn    = make(chan struct{}, 1)
				received atomic.Int64
			)
			for _, c := range conns[1:] {
				go func() {
					for f := range c.Events() {
						envs := f.GetDeliver().GetEnvelopes()
						if len(envs) == 0 {
							continue
						}
						now := time.Now()
						ids := make([]uint64, 0, len(envs))
						for _, e := range envs {
							ids = append(ids, e.Id)
							if e.Type != wirepb.EnvelopeType_ENVELOPE_TYPE_SENDER_KEY {
								continue
							}
							mu.Lock()
							if bytes.Equal(e.MessageId, round[:]) {
								got = append(got, now)
								if len(got) == members-1 {
									allIn <- struct{}{}
								}
							}
							mu.Unlock()
							received.Add(1)
						}
						go c.Call(context.Background(), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ack{Ack: &wirepb.Ack{Ids: ids}}})
					}
				}()
			}

			// The group, created by the first member with every other one.
			creator := devs[0]
			g := types.NewGroupID()
			body := &wirepb.GroupEventBody{GroupId: g[:], Seq: 1, ActorAccount: creator.Addr.Account[:], ActorDevice: 1,
				ActorIdentityKey: creator.Identity.Public.Bytes(), TimeMs: time.Now().UnixMilli()}
			create := &wirepb.GroupCreate{}
			for _, d := range devs[1:] {
				create.Members = append(create.Members, &wirepb.GroupMember{Account: d.Addr.Account[:]})
			}
			body.Change = &wirepb.GroupEventBody_Create{Create: create}
			ev, err := grouplog.Sign(body, creator.Identity.Private)
			if err != nil {
				b.Fatal(err)
			}
			var e wirepb.GroupEvent
			if err := proto.Unmarshal(ev.Raw, &e); err != nil {
				b.Fatal(err)
			}
			sender := conns[0]
			go func() {
				for range sender.Events() {
				}
			}()
			ctx := context.Background()
			if _, err := sender.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GroupChange{GroupChange: &wirepb.GroupChange{Event: &e}}}); err != nil {
				b.Fatal(err)
			}
			res, err := sender.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetGroupDevices{GetGroupDevices: &wirepb.GetGroupDevices{GroupId: g[:]}}})
			if err != nil {
				b.Fatal(err)
			}
			hash := res.GetGroupDevices().DevicesHash

			content := make([]byte, 200) // a short SenderKeyMessage
			var last, median, first, accepted time.Duration
			for b.Loop() {
				mid := types.NewMessageID()
				mu.Lock()
				round, got = mid, got[:0]
				mu.Unlock()
				start := time.Now()
				if _, err := sender.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SendGroup{SendGroup: &wirepb.SendGroup{
					GroupId: g[:], MessageId: mid[:], Content: content, DevicesHash: hash}}}); err != nil {
					b.Fatal(err)
				}
				accepted += time.Since(start)
				select {
				case <-allIn:
				case <-time.After(time.Minute):
					mu.Lock()
					n := len(got)
					mu.Unlock()
					b.Fatalf("%d of %d devices got the message", n, members-1)
				}
				mu.Lock()
				slices.SortFunc(got, func(x, y time.Time) int { return x.Compare(y) })
				last += got[len(got)-1].Sub(start)
				median += got[len(got)/2].Sub(start)
				first += got[0].Sub(start)
				mu.Unlock()
			}
			n := float64(b.N)
			b.ReportMetric(last.Seconds()*1000/n, "ms-to-last")
			b.ReportMetric(median.Seconds()*1000/n, "ms-to-median")
			b.ReportMetric(first.Seconds()*1000/n, "ms-to-first")
			b.ReportMetric(accepted.Seconds()*1000/n, "ms-to-accepted")
			b.ReportMetric(float64(members-1)*n/last.Seconds(), "deliveries/s")
		})
	}
}
