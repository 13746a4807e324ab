package gateway

import (
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// What a preflight allows. The methods are those the APIs' routes use; the
// headers are those the gateway reads (Content-Type is not safelisted for
// application/json, Authorization never is). Browsers cache a preflight
// for Max-Age seconds (Chromium caps it at 7200).
const (
	corsAllowMethods  = "GET, POST, DELETE"
	corsAllowHeaders  = "Content-Type, Authorization, X-Request-Id"
	corsExposeHeaders = "Retry-After, WWW-Authenticate"
	corsMaxAge        = "600"
)

// CORS returns h answering browsers' cross-origin checks for the given
// origins (scheme://host[:port], matched exactly, ignoring ASCII case):
//
//   - no origins: h unchanged, no CORS header on any response;
//   - a preflight (OPTIONS with Origin and Access-Control-Request-Method)
//     from an allowed origin: 204 with Access-Control-Allow-Origin, -Methods,
//     -Headers and -Max-Age, without reaching h; from any other origin: 403
//     and no Access-Control-Allow-* header, so the browser sends nothing;
//   - any other request: served by h, with Access-Control-Allow-Origin (and
//     the headers a script may read: Retry-After, WWW-Authenticate) only
//     when its origin is allowed. A request from another origin is still
//     served, as for a client that is not a browser; the browser keeps the
//     answer from the page. Requests that change state need a preflight
//     anyway, since the gateway takes only application/json bodies.
//
// The single origin "*" allows every origin and answers "*". No answer
// allows credentials: the APIs authenticate with the Authorization header,
// which a page sends only when its own script sets it, never cookies a
// browser would attach on its own. Every answer varies by Origin.
func CORS(h http.Handler, origins []string) http.Handler {
	if len(origins) == 0 {
		return h
	}
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		allowed[strings.ToLower(strings.TrimSpace(o))] = true
	}
	anyOrigin := allowed["*"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			hdr.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
		} else {
			hdr.Add("Vary", "Origin")
		}
		ok := origin != "" && (anyOrigin || allowed[strings.ToLower(origin)])
		allowOrigin := origin
		if anyOrigin {
			allowOrigin = "*"
		}
		switch {
		case preflight && !ok:
			writeStatus(w, http.StatusForbidden, status.New(codes.PermissionDenied, "origin not allowed"))
		case preflight:
			hdr.Set("Access-Control-Allow-Origin", allowOrigin)
			hdr.Set("Access-Control-Allow-Methods", corsAllowMethods)
			hdr.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			hdr.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
		default:
			if ok {
				hdr.Set("Access-Control-Allow-Origin", allowOrigin)
				hdr.Set("Access-Control-Expose-Headers", corsExposeHeaders)
			}
			h.ServeHTTP(w, r)
		}
	})
}
