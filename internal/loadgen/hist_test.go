package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Every value falls in a bucket whose bounds hold it, and buckets are
// contiguous and ordered.
func TestBuckets(t *testing.T) {
	for i := 1; i < histBuckets; i++ {
		if bucketHigh(i) <= bucketHigh(i-1) {
			t.Fatalf("bucket %d ends at %d, not after bucket %d (%d)", i, bucketHigh(i), i-1, bucketHigh(i-1))
		}
		if got := bucketOf(bucketHigh(i-1) + 1); got != i {
			t.Fatalf("value %d after bucket %d falls in bucket %d", bucketHigh(i-1)+1, i-1, got)
		}
	}
	if got := bucketOf(1<<63 - 1); got != histBuckets-1 {
		t.Fatalf("the largest value falls in bucket %d of %d", got, histBuckets)
	}
}

// Quantiles agree with the exact ones within the bucket width.
func TestQuantiles(t *testing.T) {
	var h Histogram
	r := rand.New(rand.NewPCG(1, 2))
	var vals []time.Duration
	for range 100_000 {
		d := time.Duration(r.ExpFloat64() * float64(2*time.Millisecond))
		vals = append(vals, d)
		h.Record(d)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		exact := vals[min(int(q*float64(len(vals))), len(vals)-1)]
		got := h.Quantile(q)
		if diff := float64(got-exact) / float64(exact); diff < -0.02 || diff > 0.02 {
			t.Errorf("q%.3f: %v, exact %v", q, got, exact)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Count() != uint64(len(vals)) {
		t.Errorf("max %v count %d, want %v %d", h.Max(), h.Count(), vals[len(vals)-1], len(vals))
	}
	var empty Histogram
	if empty.Quantile(0.99) != 0 {
		t.Error("an empty histogram has a p99")
	}
}
