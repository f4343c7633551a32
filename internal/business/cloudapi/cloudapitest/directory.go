package cloudapitest

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

var directoryTests = []test{
	{"unknown ids are not found", func(t *testing.T, s Stores) {
		ctx := t.Context()
		if _, err := s.Directory.Business(ctx, "1234"); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("Business of an unknown id: %v, want ErrNotFound", err)
		}
		if _, err := s.Directory.PhoneNumber(ctx, "1234"); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("PhoneNumber of an unknown id: %v, want ErrNotFound", err)
		}
		if err := s.Directory.SetCommerceSettings(ctx, "1234", cloudapi.CommerceSettings{CartEnabled: true}); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("SetCommerceSettings of an unknown number: %v, want ErrNotFound", err)
		}
	}},
	{"a business and its numbers read back as added", func(t *testing.T, s Stores) {
		ctx := t.Context()
		b := cloudapi.Business{ID: "2000000000000001", Name: "Livraria Ünicode", Currency: "BRL", TimezoneID: "America/Sao_Paulo",
			CatalogIDs: []string{s.Catalogs[1], s.Catalogs[0]}, Tier: cloudapi.Tier2K}
		n1 := cloudapi.PhoneNumber{ID: "2000000000000002", DisplayPhoneNumber: "+55 11 90000-0000", WaID: "5511900000000",
			VerifiedName: "Livraria", QualityRating: "YELLOW", Throughput: 250,
			Commerce: cloudapi.CommerceSettings{CartEnabled: true, CatalogVisible: false}}
		n2 := cloudapi.PhoneNumber{ID: "2000000000000003", DisplayPhoneNumber: "+55 21 90000-0000", WaID: "5521900000000"}
		must(t, s.AddBusiness(ctx, b, n1, n2))
		got, err := s.Directory.Business(ctx, b.ID)
		must(t, err)
		want := b
		want.PhoneNumberIDs = []string{n1.ID, n2.ID}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Business = %+v, want %+v", got, want)
		}
		for _, n := range []cloudapi.PhoneNumber{n1, n2} {
			got, err := s.Directory.PhoneNumber(ctx, n.ID)
			must(t, err)
			n.WABAID = b.ID
			if got != n {
				t.Fatalf("PhoneNumber = %+v, want %+v", got, n)
			}
		}
		// The caller's slices are its own.
		got.CatalogIDs[0], got.PhoneNumberIDs[0] = "x", "y"
		again, err := s.Directory.Business(ctx, b.ID)
		must(t, err)
		if again.CatalogIDs[0] != b.CatalogIDs[0] || again.PhoneNumberIDs[0] != n1.ID {
			t.Fatal("changing a returned business changed the stored one")
		}
	}},
	{"replacing a business keeps its numbers and adds new ones", func(t *testing.T, s Stores) {
		ctx := t.Context()
		b := cloudapi.Business{ID: "2000000000000011", Name: "Antes", Currency: "BRL", Tier: cloudapi.Tier250,
			CatalogIDs: []string{s.Catalogs[0]}}
		n1 := cloudapi.PhoneNumber{ID: "2000000000000012", WaID: "5511911111111"}
		must(t, s.AddBusiness(ctx, b, n1))
		b, err := s.Directory.Business(ctx, b.ID)
		must(t, err)
		b.Name, b.CatalogIDs = "Depois", []string{s.Catalogs[1]}
		n2 := cloudapi.PhoneNumber{ID: "2000000000000013", WaID: "5511922222222"}
		n1.VerifiedName = "Renamed"
		must(t, s.AddBusiness(ctx, b, n1, n2))
		got, err := s.Directory.Business(ctx, b.ID)
		must(t, err)
		if got.Name != "Depois" || !slices.Equal(got.PhoneNumberIDs, []string{n1.ID, n2.ID}) ||
			!slices.Equal(got.CatalogIDs, []string{s.Catalogs[1]}) {
			t.Fatalf("after replacing: %+v", got)
		}
		if pn, err := s.Directory.PhoneNumber(ctx, n1.ID); err != nil || pn.VerifiedName != "Renamed" {
			t.Fatalf("replaced number: %+v %v", pn, err)
		}
	}},
	{"tier and commerce settings change", func(t *testing.T, s Stores) {
		ctx := t.Context()
		b := cloudapi.Business{ID: "2000000000000021", Name: "B", Tier: cloudapi.Tier250}
		n := cloudapi.PhoneNumber{ID: "2000000000000022", WaID: "5511933333333"}
		other := cloudapi.Business{ID: "2000000000000023", Name: "Other", Tier: cloudapi.Tier10K}
		on := cloudapi.PhoneNumber{ID: "2000000000000024", WaID: "5511944444444"}
		must(t, s.AddBusiness(ctx, b, n))
		must(t, s.AddBusiness(ctx, other, on))
		for _, tier := range []cloudapi.Tier{cloudapi.Tier2K, cloudapi.TierUnlimited, cloudapi.Tier(3)} {
			must(t, s.SetTier(ctx, b.ID, tier))
			got, err := s.Directory.Business(ctx, b.ID)
			must(t, err)
			if got.Tier != tier {
				t.Fatalf("tier %v after SetTier(%v)", got.Tier, tier)
			}
		}
		cs := cloudapi.CommerceSettings{CartEnabled: true, CatalogVisible: true}
		must(t, s.Directory.SetCommerceSettings(ctx, n.ID, cs))
		if got, err := s.Directory.PhoneNumber(ctx, n.ID); err != nil || got.Commerce != cs || got.WABAID != b.ID {
			t.Fatalf("after SetCommerceSettings: %+v %v", got, err)
		}
		must(t, s.Directory.SetCommerceSettings(ctx, n.ID, cloudapi.CommerceSettings{}))
		if got, _ := s.Directory.PhoneNumber(ctx, n.ID); got.Commerce != (cloudapi.CommerceSettings{}) {
			t.Fatalf("settings not cleared: %+v", got.Commerce)
		}
		// The other business is untouched.
		if got, _ := s.Directory.Business(ctx, other.ID); got.Tier != cloudapi.Tier10K || !slices.Equal(got.PhoneNumberIDs, []string{on.ID}) {
			t.Fatalf("other business: %+v", got)
		}
		if got, _ := s.Directory.PhoneNumber(ctx, on.ID); got.Commerce != (cloudapi.CommerceSettings{}) || got.WABAID != other.ID {
			t.Fatalf("other number: %+v", got)
		}
	}},
}
