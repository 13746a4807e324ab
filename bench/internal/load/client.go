package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
)

// Session is what register, login and refresh return: a token pair.
type Session struct {
	UserID, Access, Refresh string
}

// Client is sso's auth API as the load generator drives it, over one
// transport.
type Client interface {
	Transport() string
	Register(ctx context.Context, email, password, fullName string) (Session, error)
	Login(ctx context.Context, email, password string) (Session, error)
	Refresh(ctx context.Context, refresh string) (Session, error)
	// Validate fails with ErrTokenInvalid when sso answers valid=false.
	Validate(ctx context.Context, access string) error
	Close() error
}

// ErrTokenInvalid means Validate answered valid=false for a token the load
// generator expected to be valid.
var ErrTokenInvalid = errors.New("token reported invalid")

// HTTPError is a REST response with a status other than 200.
type HTTPError struct{ Status int }

func (e *HTTPError) Error() string { return "HTTP " + strconv.Itoa(e.Status) }

// Code classifies an error for the "errors by code" figures: the gRPC
// code name, "HTTP <status>", "valid=false", "timeout", or "transport".
func Code(err error) string {
	var he *HTTPError
	switch {
	case errors.As(err, &he):
		return he.Error()
	case errors.Is(err, ErrTokenInvalid):
		return "valid=false"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	if s, ok := status.FromError(err); ok {
		return s.Code().String()
	}
	return "transport"
}

// GRPC is a Client over sso's gRPC API, spreading calls over one or more
// connections. One is the default: it is what a service calling sso holds,
// and on two cores it was also the fastest (validate at c=64: about 10,000/s
// on one connection, 9,000/s on two, 7,400/s on eight), because replies
// sharing a connection share write system calls on both ends.
type GRPC struct {
	conns   []*grpc.ClientConn
	clients []ssov1.AuthServiceClient
	next    atomic.Uint64
}

// NewGRPC connects conns connections to addr (host:port).
func NewGRPC(addr string, conns int) (*GRPC, error) {
	g := &GRPC{}
	for range max(conns, 1) {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("load: grpc client for %s: %w", addr, err)
		}
		g.conns = append(g.conns, cc)
		g.clients = append(g.clients, ssov1.NewAuthServiceClient(cc))
	}
	return g, nil
}

func (g *GRPC) Transport() string { return "grpc" }

func (g *GRPC) client() ssov1.AuthServiceClient {
	return g.clients[int(g.next.Add(1)%uint64(len(g.clients)))]
}

func (g *GRPC) Register(ctx context.Context, email, password, fullName string) (Session, error) {
	r, err := g.client().Register(ctx, &ssov1.RegisterRequest{Email: email, Password: password, FullName: fullName})
	if err != nil {
		return Session{}, err
	}
	return Session{UserID: r.GetUserId(), Access: r.GetAccessToken(), Refresh: r.GetRefreshToken()}, nil
}

func (g *GRPC) Login(ctx context.Context, email, password string) (Session, error) {
	r, err := g.client().Login(ctx, &ssov1.LoginRequest{Email: email, Password: password})
	if err != nil {
		return Session{}, err
	}
	return Session{UserID: r.GetUserId(), Access: r.GetAccessToken(), Refresh: r.GetRefreshToken()}, nil
}

func (g *GRPC) Refresh(ctx context.Context, refresh string) (Session, error) {
	r, err := g.client().Refresh(ctx, &ssov1.RefreshRequest{RefreshToken: refresh})
	if err != nil {
		return Session{}, err
	}
	return Session{UserID: r.GetUserId(), Access: r.GetAccessToken(), Refresh: r.GetRefreshToken()}, nil
}

func (g *GRPC) Validate(ctx context.Context, access string) error {
	r, err := g.client().Validate(ctx, &ssov1.ValidateRequest{Token: access})
	if err != nil {
		return err
	}
	if !r.GetValid() {
		return ErrTokenInvalid
	}
	return nil
}

func (g *GRPC) Close() error {
	var errs []error
	for _, c := range g.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// REST is a Client over sso's REST gateway (JSON over HTTP/1.1 with
// keep-alive, one connection per concurrent caller).
type REST struct {
	base string
	hc   *http.Client
}

// NewREST returns a REST client for base (http://host:port).
func NewREST(base string, maxConns int) *REST {
	tr := &http.Transport{
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &REST{base: base, hc: &http.Client{Transport: tr}}
}

func (c *REST) Transport() string { return "rest" }

type restTokens struct {
	UserID       string `json:"user_id"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (c *REST) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body) // keep the connection reusable
		return &HTTPError{Status: resp.StatusCode}
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *REST) tokens(ctx context.Context, path string, in any) (Session, error) {
	var t restTokens
	if err := c.post(ctx, path, in, &t); err != nil {
		return Session{}, err
	}
	return Session{UserID: t.UserID, Access: t.AccessToken, Refresh: t.RefreshToken}, nil
}

func (c *REST) Register(ctx context.Context, email, password, fullName string) (Session, error) {
	return c.tokens(ctx, "/v1/auth/register", map[string]string{"email": email, "password": password, "full_name": fullName})
}

func (c *REST) Login(ctx context.Context, email, password string) (Session, error) {
	return c.tokens(ctx, "/v1/auth/login", map[string]string{"email": email, "password": password})
}

func (c *REST) Refresh(ctx context.Context, refresh string) (Session, error) {
	return c.tokens(ctx, "/v1/auth/refresh", map[string]string{"refresh_token": refresh})
}

func (c *REST) Validate(ctx context.Context, access string) error {
	var v struct {
		Valid bool `json:"valid"`
	}
	if err := c.post(ctx, "/v1/auth/validate", map[string]string{"token": access}, &v); err != nil {
		return err
	}
	if !v.Valid {
		return ErrTokenInvalid
	}
	return nil
}

func (c *REST) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}
