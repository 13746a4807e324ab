// Package swaggerui serves Swagger UI for a service's OpenAPI documents from
// the binary itself: the swagger-ui-dist assets vendored in dist/ (fetched by
// deploy/tools/swagger-ui.sh, which pins the version and checksum), a small
// page and initializer of our own, and the documents. Nothing is loaded from
// other origins and the page runs no inline script, which its
// Content-Security-Policy enforces.
//
// A service mounts it under /swagger/ beside its REST gateway:
//
//	spec, err := swaggerui.SpecFromFS(openapi.FS, "sso.swagger.json")
//	if err != nil {
//		return err
//	}
//	mux.Handle("/swagger/", http.StripPrefix("/swagger", swaggerui.Handler("SSO API", spec)))
//
// http.ServeMux then redirects /swagger to /swagger/; the handler itself does
// the same for the empty path, so it also works behind another router.
package swaggerui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed dist
var dist embed.FS

//go:embed index.html init.js
var own embed.FS

// contentSecurityPolicy allows the page only its own scripts, styles and
// API calls. Styles may be inline because Swagger UI sets style attributes.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; " +
	"form-action 'self'; frame-ancestors 'none'"

// distFiles are the vendored files served, with their content types (spelled
// out, so the system's MIME table cannot change them).
var distFiles = map[string]string{
	"swagger-ui-bundle.js":            "text/javascript; charset=utf-8",
	"swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
	"swagger-ui.css":                  "text/css; charset=utf-8",
	"favicon-32x32.png":               "image/png",
	"LICENSE":                         "text/plain; charset=utf-8",
	"NOTICE":                          "text/plain; charset=utf-8",
}

// Spec is one OpenAPI document the UI shows.
type Spec struct {
	// Name is the file name the document is served under, relative to the
	// UI, such as "sso.swagger.json": one path element ending in ".json".
	Name string
	// JSON is the document itself.
	JSON []byte
}

// SpecFromFS reads the document name from fsys, such as openapi.FS of the
// generated code, into a Spec of the same name.
func SpecFromFS(fsys fs.FS, name string) (Spec, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return Spec{}, fmt.Errorf("read OpenAPI document: %w", err)
	}
	return Spec{Name: path.Base(name), JSON: b}, nil
}

type file struct {
	contentType string
	body        []byte
	etag        string
}

type handler struct {
	// files are by path below the UI root, without the leading slash. The
	// vendored assets (2 MB) are read and hashed on first request, so a
	// service whose UI nobody opens does not hold them in memory.
	files map[string]func() file
}

// Handler returns Swagger UI for specs under a stripped prefix: "/" is the
// page (title is its window title), "/<spec.Name>" each document, the rest
// the assets. With several specs, a top bar switches between them, each
// listed under its info.title. Responses carry an ETag and must be
// revalidated, so a new build never leaves a browser on old assets.
//
// Handler panics when specs is empty, a name is not a single ".json" path
// element or repeats, or a document is not JSON: all mistakes in the wiring
// of a binary, which must not start with them.
func Handler(title string, specs ...Spec) http.Handler {
	if len(specs) == 0 {
		panic("swaggerui: no OpenAPI documents")
	}
	h := &handler{files: map[string]func() file{}}
	for name, contentType := range distFiles {
		if _, err := fs.Stat(dist, "dist/"+name); err != nil {
			panic(fmt.Sprintf("swaggerui: vendored asset missing, run deploy/tools/swagger-ui.sh: %v", err))
		}
		h.files[name] = sync.OnceValue(func() file {
			b, err := dist.ReadFile("dist/" + name)
			if err != nil {
				panic(err) // present at start and embedded; cannot happen
			}
			return newFile(contentType, b)
		})
	}
	initJS, err := own.ReadFile("init.js")
	if err != nil {
		panic(err) // embedded above; cannot happen
	}
	h.add("init.js", "text/javascript; charset=utf-8", initJS)

	type entry struct {
		URL  string `json:"url"`
		Name string `json:"name"`
	}
	var entries []entry
	for _, s := range specs {
		if s.Name == "" || s.Name != path.Base(s.Name) || !strings.HasSuffix(s.Name, ".json") {
			panic(fmt.Sprintf("swaggerui: document name %q is not a single path element ending in .json", s.Name))
		}
		if _, dup := h.files[s.Name]; dup {
			panic(fmt.Sprintf("swaggerui: document name %q used twice", s.Name))
		}
		var doc struct {
			Info struct {
				Title string `json:"title"`
			} `json:"info"`
		}
		if err := json.Unmarshal(s.JSON, &doc); err != nil {
			panic(fmt.Sprintf("swaggerui: document %s is not JSON: %v", s.Name, err))
		}
		h.add(s.Name, "application/json", s.JSON)
		label := doc.Info.Title
		if label == "" {
			label = s.Name
		}
		entries = append(entries, entry{URL: url.PathEscape(s.Name), Name: label})
	}

	list, err := json.Marshal(entries)
	if err != nil {
		panic(err) // strings only; cannot happen
	}
	page, err := own.ReadFile("index.html")
	if err != nil {
		panic(err) // embedded above; cannot happen
	}
	// The page fills two slots, the window title (element text) and the
	// document list (a double-quoted attribute); escaping &<>"' is right for
	// both. A plain replacement rather than html/template keeps text/template
	// out of the binaries: its reflective method calls make the linker keep
	// all exported methods of every type (with gRPC's trace package, see
	// BUILD_TAGS in deploy/local/services, 9.7 MB of sso's code and data).
	fill := strings.NewReplacer("{{title}}", html.EscapeString(title), "{{specs}}", html.EscapeString(string(list)))
	h.add("", "text/html; charset=utf-8", []byte(fill.Replace(string(page))))
	return h
}

func (h *handler) add(name, contentType string, body []byte) {
	f := newFile(contentType, body)
	h.files[name] = func() file { return f }
}

func newFile(contentType string, body []byte) file {
	sum := sha256.Sum256(body)
	return file{
		contentType: contentType,
		body:        body,
		etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "" {
		redirectToRoot(w, r)
		return
	}
	name := strings.TrimPrefix(p, "/")
	if name == "index.html" {
		name = ""
	}
	load, ok := h.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f := load()
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("ETag", f.etag)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// redirectToRoot sends a request for the UI root without its trailing slash
// ("/swagger") to the root ("/swagger/"), so the page's relative asset URLs
// resolve, with the status http.ServeMux uses for the same. The prefix was
// stripped, so the target is relative: the last segment of the path the
// client asked for, plus a slash.
func redirectToRoot(w http.ResponseWriter, r *http.Request) {
	target := "./"
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && path.Base(u.Path) != "/" && path.Base(u.Path) != "." {
		target = path.Base(u.Path) + "/"
		if u.RawQuery != "" {
			target += "?" + u.RawQuery
		}
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusTemporaryRedirect)
}
