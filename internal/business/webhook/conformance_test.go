package webhook_test

import (
	"testing"

	"github.com/parley-im/parley/internal/business/webhook"
	"github.com/parley-im/parley/internal/business/webhook/webhooktest"
)

// The memory queue passes the conformance suite that the business
// database's queue (internal/business/bizstore, whose tests run it there,
// restart included) passes too.

func memQueue(*testing.T) webhook.Queue { return webhook.NewMemQueue() }

func TestMemQueue(t *testing.T) { webhooktest.RunQueue(t, memQueue) }

func TestSenderMemQueue(t *testing.T) { webhooktest.RunSender(t, memQueue) }
