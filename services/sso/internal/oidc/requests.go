package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/services/sso/internal/token"
)

// authRequest is a pending authorization request and, once the hosted
// login completed it, who signed in. It lives in Redis for the request's
// lifetime and, after its code is exchanged, a little longer as the record
// of what the code issued, so a replayed code can revoke it (RFC 6749,
// section 4.1.2).
type authRequest struct {
	ID            string    `json:"id"`
	ClientID      string    `json:"client_id"`
	RedirectURI   string    `json:"redirect_uri"`
	State         string    `json:"state,omitempty"`
	Nonce         string    `json:"nonce,omitempty"`
	Scopes        []string  `json:"scopes"`
	ResponseType  string    `json:"response_type"`
	ResponseMode  string    `json:"response_mode,omitempty"`
	Challenge     string    `json:"code_challenge,omitempty"`
	ChallengeMeth string    `json:"code_challenge_method,omitempty"`
	Prompt        []string  `json:"prompt,omitempty"`
	MaxAge        *uint     `json:"max_age,omitempty"`
	LoginHint     string    `json:"login_hint,omitempty"`
	Created       time.Time `json:"created"`

	// Set by CompleteLogin.
	UserID   string    `json:"user_id,omitempty"`
	SID      string    `json:"sid,omitempty"`
	AuthTime time.Time `json:"auth_time,omitzero"`
	AMR      []string  `json:"amr,omitempty"`
	// Done: signed in and, for a third-party client, consented.
	IsDone bool `json:"done,omitempty"`

	// Set when the code is exchanged: what it issued.
	Exchanged bool   `json:"exchanged,omitempty"`
	Family    string `json:"family,omitempty"`
	AccessJTI string `json:"jti,omitempty"`
}

// grant is what a refresh-token family issued through OpenID Connect was
// granted: the family itself (its tokens, rotation, reuse detection) is an
// auth.Sessions family; this adds the client, the scopes and the provider
// session (sid) it hangs off.
type grant struct {
	ClientID string    `json:"client_id"`
	UserID   string    `json:"user_id"`
	SID      string    `json:"sid"`
	Scopes   []string  `json:"scopes"`
	AuthTime time.Time `json:"auth_time"`
	AMR      []string  `json:"amr,omitempty"`
}

// accessRecord is what an access token was issued for, kept as long as
// the token lives, for userinfo, introspection and revocation.
type accessRecord struct {
	ClientID string    `json:"client_id"`
	UserID   string    `json:"user_id"`
	SID      string    `json:"sid"`
	Scopes   []string  `json:"scopes"`
	Expires  time.Time `json:"exp"`
}

// requests keeps authRequests, codes, grants and access records in Redis,
// each under a TTL so nothing outlives what it describes. Codes are stored
// as their SHA-256: a copy of Redis yields none usable.
type requests struct {
	rdb    goredis.UniversalClient
	prefix string
}

func (r *requests) reqKey(id string) string { return r.prefix + "oidc:req:" + id }
func (r *requests) codeKey(code string) string {
	return r.prefix + "oidc:code:" + token.HashRefresh(code)
}
func (r *requests) spentKey(code string) string {
	return r.prefix + "oidc:spent:" + token.HashRefresh(code)
}
func (r *requests) grantKey(family string) string { return r.prefix + "oidc:grant:" + family }
func (r *requests) accessKey(jti string) string   { return r.prefix + "oidc:at:" + jti }
func (r *requests) childrenKey(sid string) string { return r.prefix + "oidc:sid:" + sid }

var errNotFound = errors.New("oidc: not found")

func (r *requests) put(ctx context.Context, key string, v any, ttl time.Duration) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := r.rdb.Set(ctx, key, b, ttl).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

func (r *requests) get(ctx context.Context, key string, v any) error {
	b, err := r.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return json.Unmarshal(b, v)
}

// update rewrites a request keeping its remaining TTL (KEEPTTL), and only
// if it still exists (XX): a request that expired meanwhile stays gone.
func (r *requests) update(ctx context.Context, req *authRequest) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ok, err := r.rdb.SetArgs(ctx, r.reqKey(req.ID), b, goredis.SetArgs{Mode: "XX", KeepTTL: true}).Result()
	if errors.Is(err, goredis.Nil) || err == nil && ok != "OK" {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// takeCodeLua uses a code up: its request id moves from the code key to
// the spent key in one step, so of two concurrent exchanges one gets the
// request and the other sees a replay. Reply: {1, id} for a fresh code,
// {2, id} for a spent one, {0} for an unknown or expired one.
var takeCodeLua = goredis.NewScript(`
local id = redis.call('GET', KEYS[1])
if id then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
  return {1, id}
end
id = redis.call('GET', KEYS[2])
if id then return {2, id} end
return {0}
`)

const (
	codeFresh = 1
	codeSpent = 2
)

func (r *requests) takeCode(ctx context.Context, code string, spentTTL time.Duration) (int64, string, error) {
	res, err := takeCodeLua.Run(ctx, r.rdb, []string{r.codeKey(code), r.spentKey(code)}, spentTTL.Milliseconds()).Slice()
	if err != nil {
		return 0, "", fmt.Errorf("redis: %w", err)
	}
	state, _ := res[0].(int64)
	if state == 0 || len(res) < 2 {
		return 0, "", errNotFound
	}
	id, _ := res[1].(string)
	return state, id, nil
}
