// Package gateway builds the REST facade every service puts beside its gRPC
// server: a grpc-gateway ServeMux with one JSON contract, one error shape and
// one set of forwarded headers, so sso and loyalty-points answer HTTP clients
// alike. The generated Register*Handler functions add the routes.
//
// # JSON
//
// Field names are the proto names (snake_case), as in the OpenAPI documents
// generated from the protos (libs/gen/openapi, served by each service's
// Swagger UI); scalar fields at their zero value are emitted ("valid":
// false, not an absent key), while a message field the response leaves unset
// (expires_at of an invalid token) is absent, never null: the documents
// declare no nullable field. Request bodies are strict: an unknown field
// (protojson's camelCase aliases such as "refreshToken" included), a wrong
// type, null, a 64-bit integer other than a string of decimal digits,
// malformed JSON, trailing data after the object or a field the path
// already gives is 400 INVALID_ARGUMENT ("invalid JSON body: ..."), so a
// typo such as "pasword" fails loudly instead of reaching the service as an
// empty password. Messages name fields by their proto names, as the API
// does. An empty body decodes to the empty message; the service's
// validation then names the missing field.
//
// # Errors
//
// Every error, including unknown routes and wrong methods (405 with an Allow
// header naming the methods the path has; a custom verb such as ":deposit"
// is never read as part of a path parameter), is JSON:
//
//	{"code": 3, "status": "INVALID_ARGUMENT", "message": "...", "details": [...]}
//
// with the HTTP status from runtime.HTTPStatusFromCode (RESOURCE_EXHAUSTED is
// 429, UNAVAILABLE 503, ...). A google.rpc.RetryInfo detail becomes a
// Retry-After header in whole seconds, rounded up; UNAUTHENTICATED carries
// "WWW-Authenticate: Bearer". The gateway passes status messages through
// unchanged: keeping internal details out of them (an INTERNAL error says
// "internal error", not the SQL that failed) is the job of each service's
// error mapper, the one place that knows which messages are safe. Only
// transport errors of the gateway's own gRPC client (UNAVAILABLE while the
// gRPC server is down) carry grpc-go's text.
//
// An API whose every call needs an access token (WithBearerRequired) gets
// 401 for a request without one before its body or parameters are read.
//
// # Request bodies
//
// Bodies are limited to DefaultMaxBodyBytes (64 KiB, see WithMaxBodyBytes and
// LimitBody); a larger body is refused with 413 and the error shape above
// (code INVALID_ARGUMENT: resending it cannot help) before the service runs,
// and a body that does not arrive before the server's read deadline gets 408
// (code DEADLINE_EXCEEDED). Only a body declared as application/json is
// taken (415 otherwise).
//
// # Browsers
//
// Mount puts the facade behind CORS: with no allowed origins (the default)
// no response carries a CORS header and browsers keep other sites' pages
// from reading any answer; with some, their preflights are answered and
// their pages may call the API with a bearer token. Cookies play no part.
//
// # Metadata and the client IP
//
// The gateway forwards Authorization as "authorization" metadata (exactly
// once), X-Request-Id as "x-request-id" and User-Agent as
// "grpcgateway-user-agent"; other request headers stay at the edge. Response
// metadata of the gRPC call is not copied to HTTP headers.
//
// For per-IP throttling the gRPC side needs the client's address. The
// gateway works it out from the HTTP request (ClientAddr): the HTTP peer,
// or, when the peer is one of the trusted proxies (WithTrustedProxies;
// none by default), the right-most X-Forwarded-For hop that is not a
// trusted proxy. It passes that address to the gRPC call in metadata and
// drops the client's X-Forwarded-For. ClientIP reads it on the gRPC side
// only from calls that prove they come from this process's gateway; every
// other gRPC call is keyed by its peer address. Its documentation has the
// trust model.
//
// # Metrics
//
// Each call's route is named after the path template it matched
// ("/v1/loyalty/accounts/{user_id}"), never the raw path, for the HTTP
// metrics of server.InstrumentHTTP.
//
// # Wiring
//
// A service registers its generated handlers against its own gRPC endpoint,
// so REST calls run through the same interceptors (tracing, recovery, error
// mapping, throttling) as native gRPC calls. Mount does that and serves the
// Swagger UI beside it:
//
//	conn, err := gateway.Mount(ctx, mux, grpcAddr, gateway.Facade{
//		Title: "sso API", Spec: spec,
//		Handlers: []gateway.RegisterFunc{ssov1.RegisterAuthServiceHandler, ssov1.RegisterUserServiceHandler},
//	})
//
// The Register*HandlerServer variants work too but skip gRPC interceptors.
package gateway
