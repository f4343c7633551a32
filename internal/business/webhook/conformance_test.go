package webhook_test

import (
	"path/filepath"
	"testing"

	"github.com/parley-im/parley/internal/business/webhook"
	"github.com/parley-im/parley/internal/business/webhook/webhooktest"
)

// The queues of this package pass the conformance suite that the business
// database's queue (internal/business/bizstore) passes too.

func memQueue(*testing.T) webhook.Queue { return webhook.NewMemQueue() }

func sqliteQueue(t *testing.T) webhook.Queue {
	q, err := webhook.OpenSQLiteQueue(filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func TestMemQueue(t *testing.T) { webhooktest.RunQueue(t, memQueue) }

func TestSQLiteQueue(t *testing.T) { webhooktest.RunQueue(t, sqliteQueue) }

func TestSenderMemQueue(t *testing.T) { webhooktest.RunSender(t, memQueue) }

func TestSenderSQLiteQueue(t *testing.T) { webhooktest.RunSender(t, sqliteQueue) }

func TestSQLiteQueueRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	webhooktest.RunRestart(t, func(t *testing.T) (webhook.Queue, func()) {
		q, err := webhook.OpenSQLiteQueue(path)
		if err != nil {
			t.Fatal(err)
		}
		return q, func() { q.Close() }
	})
}
