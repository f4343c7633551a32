package cloudapi_test

import (
	"testing"

	"github.com/parley-im/parley/internal/business/cloudapi/cloudapitest"
)

// The in-memory stores pass the suite that the business database's stores
// (internal/business/bizstore) pass too.
func TestMemStores(t *testing.T) {
	cloudapitest.Run(t, func(*testing.T) cloudapitest.Stores { return cloudapitest.Mem() })
}
