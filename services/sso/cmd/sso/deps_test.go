package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestBinaryLeavesOutTextTemplate keeps text/template out of the sso binary
// as deploy/local/services and the Dockerfile build it (with BUILD_TAGS). Its
// reflective method calls make the linker keep every exported method of
// every type in the binary, 9 MB of code and read-only data that the kernel
// maps into sso's resident memory. A new import that brings it back fails
// here and names the path to it, rather than showing up as a few megabytes
// more in the next benchmark run.
//
// One importer is allowed, knowingly: the OpenID Connect provider library
// (zitadel/oidc's op, which renders its form_post response with
// html/template). Measured with -tags grpcnotrace -trimpath -ldflags="-s -w":
// 33.7 MB before the provider, 43.4 MB with html/template alone, 45.2 MB
// with the provider; writing the protocol by hand instead of using a
// certified library was judged the worse trade (README, "Sign in with
// ssokit"). Any other path to text/template still fails here, and so does
// text/template reaching the op by another route.
func TestBinaryLeavesOutTextTemplate(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "grpcnotrace",
		"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	importers := map[string][]string{} // package -> the packages importing it
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			importers[imp] = append(importers[imp], f[0])
		}
	}
	if _, ok := importers["text/template"]; !ok {
		return
	}
	if slices.Equal(importers["text/template"], []string{"html/template"}) &&
		slices.Equal(importers["html/template"], []string{allowedTemplateImporter}) {
		return
	}
	// Walk up one importer at a time to a package of ours.
	chain := []string{"text/template"}
	for seen := map[string]bool{}; ; {
		pkg := chain[len(chain)-1]
		seen[pkg] = true
		next := ""
		for _, p := range importers[pkg] {
			if !seen[p] {
				next = p
				break
			}
		}
		if next == "" {
			break
		}
		chain = append(chain, next)
		if strings.HasPrefix(next, "github.com/ssokit/") {
			break
		}
	}
	t.Errorf("sso links text/template again, through %s", strings.Join(chain, " <- "))
}

// allowedTemplateImporter is the one package allowed to bring html/template
// (and so text/template) into sso: see TestBinaryLeavesOutTextTemplate.
const allowedTemplateImporter = "github.com/zitadel/oidc/v3/pkg/op"
