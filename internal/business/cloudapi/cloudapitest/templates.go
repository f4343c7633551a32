package cloudapitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

func template(id, waba, name, lang string) cloudapi.Template {
	return cloudapi.Template{ID: id, WABAID: waba, Name: name, Language: lang, Category: "UTILITY", Status: "APPROVED",
		ParameterFormat: "POSITIONAL", Created: t0,
		Components: json.RawMessage(`[{"type":"BODY","text":"Olá {{1}}, seu pedido ✓","example":{"body_text":[["Ana"]]}}]`)}
}

func sameTemplate(a, b cloudapi.Template) bool {
	return a.ID == b.ID && a.WABAID == b.WABAID && a.Name == b.Name && a.Language == b.Language && a.Category == b.Category &&
		a.Status == b.Status && a.ParameterFormat == b.ParameterFormat && bytes.Equal(a.Components, b.Components) &&
		a.RejectedReason == b.RejectedReason && a.Created.Equal(b.Created)
}

func ids(ts []cloudapi.Template) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	slices.Sort(out)
	return out
}

var templateTests = []test{
	{"a template reads back as created, components byte for byte", func(t *testing.T, s Stores) {
		ctx := t.Context()
		tpl := template("5000000000000001", "5000000000000099", "pedido_pronto", "pt_BR")
		tpl.Status, tpl.RejectedReason = "REJECTED", "INVALID_FORMAT"
		must(t, s.Templates.CreateTemplate(ctx, tpl))
		got, err := s.Templates.Template(ctx, tpl.ID)
		must(t, err)
		if !sameTemplate(got, tpl) {
			t.Fatalf("Template = %+v, want %+v", got, tpl)
		}
		if _, err := s.Templates.Template(ctx, "5000000000000002"); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("unknown template: %v, want ErrNotFound", err)
		}
	}},
	{"name and language are unique per business", func(t *testing.T, s Stores) {
		ctx := t.Context()
		must(t, s.Templates.CreateTemplate(ctx, template("5000000000000101", "5000000000000199", "oferta", "pt_BR")))
		if err := s.Templates.CreateTemplate(ctx, template("5000000000000102", "5000000000000199", "oferta", "pt_BR")); !errors.Is(err, cloudapi.ErrExists) {
			t.Fatalf("same name and language: %v, want ErrExists", err)
		}
		if _, err := s.Templates.Template(ctx, "5000000000000102"); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("the refused template was stored: %v", err)
		}
		must(t, s.Templates.CreateTemplate(ctx, template("5000000000000103", "5000000000000199", "oferta", "en_US")))
		must(t, s.Templates.CreateTemplate(ctx, template("5000000000000104", "5000000000000198", "oferta", "pt_BR")))
		got, err := s.Templates.Templates(ctx, "5000000000000199")
		must(t, err)
		if strings.Join(ids(got), ",") != "5000000000000101,5000000000000103" {
			t.Fatalf("business's templates: %v", ids(got))
		}
		if got, _ := s.Templates.Templates(ctx, "5000000000000197"); len(got) != 0 {
			t.Fatalf("a business without templates lists %v", ids(got))
		}
	}},
	{"status changes and deletion", func(t *testing.T, s Stores) {
		ctx := t.Context()
		tpl := template("5000000000000201", "5000000000000299", "aviso", "de")
		must(t, s.Templates.CreateTemplate(ctx, tpl))
		for _, st := range []string{"PAUSED", "DISABLED", "APPROVED"} {
			must(t, s.SetTemplateStatus(ctx, tpl.ID, st))
			if got, err := s.Templates.Template(ctx, tpl.ID); err != nil || got.Status != st {
				t.Fatalf("status %q after setting %q (%v)", got.Status, st, err)
			}
		}
		must(t, s.Templates.DeleteTemplate(ctx, tpl.ID))
		if _, err := s.Templates.Template(ctx, tpl.ID); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("deleted template: %v", err)
		}
		if got, _ := s.Templates.Templates(ctx, tpl.WABAID); len(got) != 0 {
			t.Fatalf("deleted template listed: %v", ids(got))
		}
		if err := s.Templates.DeleteTemplate(ctx, tpl.ID); err != nil {
			t.Fatalf("deleting a deleted template: %v", err)
		}
		// The name is free again.
		must(t, s.Templates.CreateTemplate(ctx, template("5000000000000202", tpl.WABAID, tpl.Name, tpl.Language)))
	}},
}
