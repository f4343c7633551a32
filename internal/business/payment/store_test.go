package payment_test

import (
	"testing"

	"github.com/parley-im/parley/internal/business/payment"
	"github.com/parley-im/parley/internal/business/payment/paymenttest"
)

// MemStore passes the suite the business database's store passes too.
func TestMemStore(t *testing.T) {
	paymenttest.Run(t, func(*testing.T) payment.Store { return payment.NewMemStore() })
}
