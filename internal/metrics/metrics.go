// Package metrics holds the Prometheus collectors of one Parley node, on a
// registry of its own so that several servers in one test process do not
// collide. Names follow parley_<subsystem>_<name>_<unit>.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is every collector a node exports.
type Metrics struct {
	Registry *prometheus.Registry

	Connections   prometheus.Gauge
	Authenticated prometheus.Gauge
	Requests      *prometheus.CounterVec // by request kind
	Errors        *prometheus.CounterVec // by wire error code
	Delivered     prometheus.Counter
	BusDropped    prometheus.Counter

	Appended  prometheus.Counter
	Deleted   prometheus.Counter
	Expired   prometheus.Counter
	Batch     prometheus.Histogram
	CommitDur prometheus.Histogram

	MediaUploaded   prometheus.Counter
	MediaDownloaded prometheus.Counter
	MediaDeleted    prometheus.Counter
}

// New registers a node's collectors, with the Go runtime and process ones.
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{
		Registry:      r,
		Connections:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "parley_gateway_connections", Help: "Open WebSocket connections."}),
		Authenticated: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parley_gateway_authenticated_connections", Help: "Connections with an authenticated device."}),
		Requests:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_gateway_requests_total", Help: "Client frames by kind."}, []string{"kind"}),
		Errors:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_gateway_errors_total", Help: "Error responses by code."}, []string{"code"}),
		Delivered:     prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_gateway_delivered_envelopes_total", Help: "Envelopes pushed to devices."}),
		BusDropped:    prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_gateway_bus_dropped_total", Help: "Bus notices dropped for a busy connection (it reads them from the store)."}),
		Appended:      prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_mailbox_appended_envelopes_total", Help: "Envelopes stored."}),
		Deleted:       prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_mailbox_deleted_envelopes_total", Help: "Envelopes deleted after an ack."}),
		Expired:       prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_mailbox_expired_envelopes_total", Help: "Envelopes deleted undelivered at expiry."}),
		Batch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parley_mailbox_commit_sends", Help: "Sends per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		CommitDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parley_mailbox_commit_seconds", Help: "Duration of one group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		MediaUploaded:   prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_media_uploaded_bytes_total", Help: "Media bytes stored by uploads."}),
		MediaDownloaded: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_media_downloaded_bytes_total", Help: "Media bytes served to downloads."}),
		MediaDeleted:    prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_media_deleted_blobs_total", Help: "Media blobs deleted: fetched by every recipient, expired, or never completed."}),
	}
	for _, c := range []prometheus.Collector{m.Connections, m.Authenticated, m.Requests, m.Errors, m.Delivered, m.BusDropped,
		m.Appended, m.Deleted, m.Expired, m.Batch, m.CommitDur, m.MediaUploaded, m.MediaDownloaded, m.MediaDeleted,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// Seconds observes d in seconds.
func Seconds(h prometheus.Histogram, d time.Duration) { h.Observe(d.Seconds()) }
