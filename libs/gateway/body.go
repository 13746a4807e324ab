package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// LimitBody returns h behind a request body limit of max bytes. It reads the
// whole body before h runs, so an oversized body is refused with 413 Payload
// Too Large and the gateway's JSON error (code INVALID_ARGUMENT) whether or
// not the client declared its length, and h never sees a truncated body.
// A body cut short by the server's read deadline (http.Server.ReadTimeout)
// gets 408 Request Timeout. New applies it to every gateway route; it is
// exported for other handlers that take JSON bodies.
func LimitBody(h http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeStatus(w, http.StatusRequestEntityTooLarge, tooLarge(max))
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		// MaxBytesReader also tells the server to close the connection
		// rather than drain the rest of an oversized body.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if err != nil {
			var maxErr *http.MaxBytesError
			switch {
			case errors.As(err, &maxErr):
				writeStatus(w, http.StatusRequestEntityTooLarge, tooLarge(max))
			case errors.Is(err, os.ErrDeadlineExceeded):
				// The server's read deadline passed: the client trickled
				// or withheld its body. The connection is not reused.
				writeStatus(w, http.StatusRequestTimeout, status.New(codes.DeadlineExceeded, "the request body did not arrive in time"))
			default:
				writeStatus(w, http.StatusBadRequest, status.New(codes.InvalidArgument, "cannot read the request body"))
			}
			return
		}
		r = r.WithContext(r.Context()) // a copy: the caller's request keeps its body
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	})
}

func tooLarge(max int64) *status.Status {
	return status.Newf(codes.InvalidArgument, "request body is larger than %d bytes", max)
}

// strictJSON is runtime.JSONPb with a stricter request decoder: the body must
// be exactly one JSON value, and decoding errors read as such rather than as
// protobuf internals. Responses are encoded by JSONPb unchanged.
type strictJSON struct {
	*runtime.JSONPb
}

// NewDecoder returns a decoder for one request body. Generated handlers turn
// its error into INVALID_ARGUMENT with the error text as message, and treat
// io.EOF (an empty body) as the empty message. Fields are named by their
// proto names, in what the decoder accepts as in its messages.
func (m *strictJSON) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("cannot read the request body: %w", err)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return io.EOF
		}
		msg, ok := v.(proto.Message)
		if !ok {
			if err := m.Unmarshal(data, v); err != nil { // a body mapped to a non-message field
				return fmt.Errorf("invalid JSON body: %s", withoutProtoPrefix(err.Error()))
			}
			return nil
		}
		// protojson, unlike JSONPb's streaming decoder, rejects anything
		// after the first value.
		desc := msg.ProtoReflect().Descriptor()
		if err := m.UnmarshalOptions.Unmarshal(data, msg); err != nil {
			return fmt.Errorf("invalid JSON body: %s", withProtoNames(withoutProtoPrefix(err.Error()), desc))
		}
		if err := checkBody(data, desc); err != nil {
			return fmt.Errorf("invalid JSON body: %w", err)
		}
		return nil
	})
}

// withoutProtoPrefix drops the "proto:" that protojson puts before its
// messages (followed by a space or, at random, a no-break space); a REST
// client has no use for it.
func withoutProtoPrefix(msg string) string {
	if rest, ok := strings.CutPrefix(msg, "proto:"); ok {
		return strings.TrimLeft(rest, " \u00a0")
	}
	return msg
}
