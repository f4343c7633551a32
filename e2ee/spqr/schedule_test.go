package spqr

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The braid's observable schedule (which payload each side sends at each
// message) must equal libsignal's for the same traffic. The golden file was
// recorded from two libsignal 0.90.0 parties; here two Go parties run the
// same pattern and log in the same format.
func TestScheduleMatchesLibsignal(t *testing.T) {
	golden := readSchedule(t, "testdata/libsignal-0.90.0-schedule.txt")
	for _, c := range []struct {
		label       string
		aliceSends  func(k int) bool
		n           int
		minVersions []Version
	}{
		{"ping-pong", func(k int) bool { return k%2 == 0 }, 520, []Version{V0, V1}},
		{"alice-heavy (B replies every 10th)", func(k int) bool { return k%10 != 5 }, 1200, []Version{V0, V1}},
	} {
		for _, min := range c.minVersions {
			a, b := newPair(t, min)
			r := detRand(uint64(c.n))
			var log []string
			last := map[string]string{}
			aliceAcked := false // until then libsignal sends PreKey messages, not logged
			for k := 0; k < c.n; k++ {
				from, to, who := a, b, "A"
				if !c.aliceSends(k) {
					from, to, who = b, a, "B"
				}
				m := mustSend(t, from, r)
				mustRecvKey(t, to, m)
				if who == "B" {
					aliceAcked = true
				} else if !aliceAcked {
					continue
				}
				info, _ := Inspect(m.msg)
				ev := fmt.Sprintf("e%d/%v", info.Epoch, info.Type)
				if last[who] != ev {
					log = append(log, fmt.Sprintf("#%d%s:%s", k, who, ev))
					last[who] = ev
				}
			}
			got := strings.Join(log, " ")
			if got != golden[c.label] {
				t.Errorf("%s (min V%d):\n got  %s\n want %s", c.label, min, got, golden[c.label])
			}
		}
	}
}

func readSchedule(t *testing.T, path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		label, events, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		out[label] = events
	}
	return out
}
