package archtest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ssokit/platform/libs/archtest"
)

const shop = "github.com/ssokit/platform/services/shop/internal/"

var shopLayout = archtest.Layout{
	Domain:   []string{"internal/order", "internal/price"},
	Adapters: []string{"internal/store", "internal/web"},
	Wiring:   []string{"internal/app"},
}

func TestViolationsNameThePackageTheImportAndTheRule(t *testing.T) {
	got, stale, err := archtest.Violations("testdata/shop", shopLayout)
	if err != nil {
		t.Fatal(err)
	}
	want := []archtest.Violation{
		{Package: shop + "order", Import: "database/sql", Rule: archtest.DomainRules[1].Name},
		{Package: shop + "order", Import: "net/http", Rule: archtest.DomainRules[0].Name},
		{Package: shop + "order", Import: shop + "store", Rule: archtest.RuleDomainInward},
		{Package: shop + "store", Import: shop + "web", Rule: archtest.RuleAdapterWired},
		{Package: shop + "web", Import: "github.com/ssokit/platform/services/other/api", Rule: archtest.RuleNoOtherService},
	}
	sortViolations(got)
	sortViolations(want)
	if !slices.Equal(got, want) {
		t.Errorf("Violations =\n%v\nwant\n%v", got, want)
	}
	if len(stale) != 0 {
		t.Errorf("stale = %v, want none", stale)
	}
}

func TestPendingExceptionsSilenceOneImportAndReportWhenStale(t *testing.T) {
	l := shopLayout
	l.Pending = []archtest.Exception{
		{Package: "internal/store", Import: shop + "web", Reason: "moving"},
		{Package: "internal/price", Import: "database/sql", Reason: "already gone"},
	}
	got, stale, err := archtest.Violations("testdata/shop", l)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(got, func(v archtest.Violation) bool { return v.Package == shop+"store" }) {
		t.Errorf("the pending store -> web import is still reported: %v", got)
	}
	if len(got) != 4 {
		t.Errorf("got %d violations, want the other 4: %v", len(got), got)
	}
	if len(stale) != 1 || stale[0].Package != "internal/price" {
		t.Errorf("stale = %v, want the price exception", stale)
	}
}

func TestLayoutNamingNoPackageIsAnError(t *testing.T) {
	l := archtest.Layout{Domain: []string{"internal/orders"}}
	if _, _, err := archtest.Violations("testdata/shop", l); err == nil {
		t.Error("a layout naming a missing package passed")
	}
}

func sortViolations(vs []archtest.Violation) {
	slices.SortFunc(vs, func(a, b archtest.Violation) int {
		if c := strings.Compare(a.Package, b.Package); c != 0 {
			return c
		}
		return strings.Compare(a.Import, b.Import)
	})
}
