package bizstore_test

import (
	"path/filepath"
	"testing"

	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/bizstore/bizstoretest"
	"github.com/parley-im/parley/internal/business/cloudapi/cloudapitest"
	"github.com/parley-im/parley/internal/business/payment"
	"github.com/parley-im/parley/internal/business/payment/paymenttest"
	"github.com/parley-im/parley/internal/business/webhook"
	"github.com/parley-im/parley/internal/business/webhook/webhooktest"
)

// The store passes the same suites as the in-memory stores it replaces.

func TestCloudAPIStores(t *testing.T) {
	cloudapitest.Run(t, func(t *testing.T) cloudapitest.Stores {
		return bizstoretest.Stores(t, bizstoretest.Open(t))
	})
}

func TestPaymentStore(t *testing.T) {
	paymenttest.Run(t, func(t *testing.T) payment.Store { return bizstoretest.Open(t) })
}

func queue(t *testing.T) webhook.Queue { return bizstoretest.Open(t).WebhookQueue() }

func TestWebhookQueue(t *testing.T) { webhooktest.RunQueue(t, queue) }

func TestWebhookSender(t *testing.T) { webhooktest.RunSender(t, queue) }

func TestWebhookQueueRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "business.db")
	webhooktest.RunRestart(t, func(t *testing.T) (webhook.Queue, func()) {
		st, err := bizstore.Open(t.Context(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.WebhookQueue(), func() { st.Close() }
	})
}
