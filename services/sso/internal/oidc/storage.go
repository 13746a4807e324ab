package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// storage is the op.Storage of the provider: clients from PostgreSQL,
// requests, codes and token records from Redis, refresh-token families and
// revocation from auth.Sessions (the same as sso's own refresh tokens).
type storage struct {
	p *Provider
}

var (
	_ op.Storage                        = storage{}
	_ op.CanSetUserinfoFromRequest      = storage{}
	_ op.CanGetPrivateClaimsFromRequest = storage{}
	_ op.CanTerminateSessionFromRequest = storage{}
)

// aliveProbe is a jti never revoked: AccessRevoked(aliveProbe, sid) then
// asks only whether the session sid is still live.
const aliveProbe = "-"

func (s storage) sessionAlive(ctx context.Context, sid string) (bool, error) {
	if sid == "" {
		return false, nil
	}
	revoked, err := s.p.sessions.AccessRevoked(ctx, aliveProbe, sid)
	return !revoked, err
}

// CreateAuthRequest stores the request the op validated (client, redirect
// URI, response type). It adds sso's own rules: PKCE S256 for public
// clients (plain is refused for everyone: it protects nothing against an
// attacker who sees the request), and scopes cut to the client's allowed
// ones.
func (s storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := s.p.clients.Get(ctx, r.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown client").WithParent(err)
	}
	if r.CodeChallenge != "" && r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if !c.Confidential && r.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (S256) is required for this client")
	}
	if len(r.State) > 1000 || len(r.Nonce) > 1000 || len(r.LoginHint) > 320 {
		return nil, oidc.ErrInvalidRequest().WithDescription("state, nonce or login_hint too long")
	}
	scopes := slices.DeleteFunc(slices.Clone([]string(r.Scopes)), func(sc string) bool { return !slices.Contains(c.Scopes, sc) })
	id, err := randomString(24)
	if err != nil {
		return nil, err
	}
	req := &authRequest{
		ID: id, ClientID: c.ID, RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce, Scopes: slices.Compact(scopes),
		ResponseType: string(r.ResponseType), ResponseMode: string(r.ResponseMode),
		Challenge: r.CodeChallenge, ChallengeMeth: string(r.CodeChallengeMethod),
		Prompt: r.Prompt, MaxAge: r.MaxAge, LoginHint: r.LoginHint, Created: time.Now().UTC(),
	}
	if err := s.p.reqs.put(ctx, s.p.reqs.reqKey(id), req, s.p.cfg.RequestTTL); err != nil {
		return nil, err
	}
	return opRequest{req}, nil
}

func (s storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	var req authRequest
	if err := s.p.reqs.get(ctx, s.p.reqs.reqKey(id), &req); err != nil {
		return nil, err
	}
	if req.Exchanged {
		return nil, errNotFound
	}
	return opRequest{&req}, nil
}

// AuthRequestByCode uses the code up. A code seen again is a replay (RFC
// 6749, section 4.1.2): whoever exchanged it first may be an attacker, so
// the tokens it issued are revoked, and the exchange refused.
func (s storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	state, id, err := s.p.reqs.takeCode(ctx, code, s.p.cfg.SpentTTL)
	if err != nil {
		return nil, err
	}
	var req authRequest
	if err := s.p.reqs.get(ctx, s.p.reqs.reqKey(id), &req); err != nil {
		return nil, err
	}
	if state == codeSpent || req.Exchanged {
		s.revokeIssued(ctx, &req)
		return nil, errors.New("oidc: authorization code replayed; its tokens are revoked")
	}
	req.Exchanged = true
	if err := s.p.reqs.update(ctx, &req); err != nil {
		return nil, err
	}
	// The request now records what the code issues, for as long as a
	// replay is remembered.
	if err := s.p.reqs.rdb.PExpire(ctx, s.p.reqs.reqKey(id), s.p.cfg.SpentTTL).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	alive, err := s.sessionAlive(ctx, req.SID)
	if err != nil {
		return nil, err
	}
	if !alive {
		return nil, errors.New("oidc: the session of the code has ended")
	}
	return opRequest{&req}, nil
}

func (s storage) revokeIssued(ctx context.Context, req *authRequest) {
	if req.Family != "" {
		if err := s.p.sessions.Revoke(ctx, req.Family); err != nil {
			s.p.log.WarnContext(ctx, "revoke tokens of a replayed code", slog.Any("error", err))
		}
	}
	if req.AccessJTI != "" {
		if err := s.p.sessions.RevokeAccess(ctx, req.AccessJTI, time.Now().Add(s.p.cfg.AccessTTL)); err != nil {
			s.p.log.WarnContext(ctx, "revoke tokens of a replayed code", slog.Any("error", err))
		}
	}
	s.p.log.WarnContext(ctx, "authorization code replayed; tokens issued from it revoked", slog.String("client_id", req.ClientID))
}

func (s storage) SaveAuthCode(ctx context.Context, id, code string) error {
	var req authRequest
	if err := s.p.reqs.get(ctx, s.p.reqs.reqKey(id), &req); err != nil {
		return err
	}
	if !req.IsDone || req.Exchanged {
		return errNotFound
	}
	return s.p.reqs.rdb.Set(ctx, s.p.reqs.codeKey(code), id, s.p.cfg.CodeTTL).Err()
}

// DeleteAuthRequest is called once the code's tokens are issued; the
// request stays as the record of what it issued (see AuthRequestByCode)
// until its shorter TTL ends.
func (s storage) DeleteAuthRequest(ctx context.Context, id string) error {
	var req authRequest
	err := s.p.reqs.get(ctx, s.p.reqs.reqKey(id), &req)
	if errors.Is(err, errNotFound) || err == nil && req.Exchanged {
		return nil
	}
	if err != nil {
		return err
	}
	return s.p.reqs.rdb.Del(ctx, s.p.reqs.reqKey(id)).Err()
}

func (s storage) CreateAccessToken(ctx context.Context, tr op.TokenRequest) (string, time.Time, error) {
	g, err := s.grantOf(tr)
	if err != nil {
		return "", time.Time{}, err
	}
	jti, exp, err := s.newAccess(ctx, g)
	if err != nil {
		return "", time.Time{}, err
	}
	if r, ok := tr.(opRequest); ok {
		r.AccessJTI = jti
		if err := s.p.reqs.update(ctx, r.authRequest); err != nil {
			return "", time.Time{}, err
		}
	}
	return jti, exp, nil
}

func (s storage) grantOf(tr op.TokenRequest) (grant, error) {
	switch r := tr.(type) {
	case opRequest:
		return grant{ClientID: r.ClientID, UserID: r.UserID, SID: r.SID, Scopes: r.Scopes, AuthTime: r.AuthTime, AMR: r.AMR}, nil
	case *refreshRequest:
		g := r.grant
		g.Scopes = r.scopes
		return g, nil
	}
	return grant{}, oidc.ErrUnsupportedGrantType()
}

func (s storage) newAccess(ctx context.Context, g grant) (string, time.Time, error) {
	jti := uuid.NewString()
	exp := time.Now().Add(s.p.cfg.AccessTTL).UTC().Truncate(time.Second)
	rec := accessRecord{ClientID: g.ClientID, UserID: g.UserID, SID: g.SID, Scopes: g.Scopes, Expires: exp}
	if err := s.p.reqs.put(ctx, s.p.reqs.accessKey(jti), rec, s.p.cfg.AccessTTL); err != nil {
		return "", time.Time{}, err
	}
	return jti, exp, nil
}

// CreateAccessAndRefreshTokens starts a refresh-token family for a code
// exchange (offline_access), or rotates one for a refresh. The family is
// an auth.Sessions family, so rotation, reuse detection, lifetimes, the
// user's session list and RevokeUser work as for sso's own tokens.
func (s storage) CreateAccessAndRefreshTokens(ctx context.Context, tr op.TokenRequest, current string) (string, string, time.Time, error) {
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return "", "", time.Time{}, err
	}
	lt := s.p.cfg.Lifetime
	switch r := tr.(type) {
	case *refreshRequest:
		if sess, err := s.p.sessions.Rotate(ctx, token.HashRefresh(current), hash, lt); err != nil {
			if errors.Is(err, auth.ErrRefreshReused) {
				s.p.log.WarnContext(ctx, "refresh token reuse detected; family revoked", slog.String("client_id", r.ClientID))
				s.p.recordReuse(ctx, sess.UserID)
			}
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("invalid refresh token").WithParent(err)
		}
		jti, exp, err := s.newAccess(ctx, grant{ClientID: r.ClientID, UserID: r.UserID, SID: r.SID, Scopes: r.scopes})
		return jti, raw, exp, err
	case opRequest:
		family := uuid.NewString()
		g, _ := s.grantOf(r)
		// Stored before the family starts: a family without its grant
		// could not refresh.
		if err := s.p.reqs.put(ctx, s.p.reqs.grantKey(family), g, lt.Absolute); err != nil {
			return "", "", time.Time{}, err
		}
		err := s.p.sessions.Start(ctx, auth.Session{Family: family, UserID: r.UserID}, hash, lt,
			auth.Origin{UserAgent: "OpenID Connect client " + r.ClientID, CheckedAt: r.AuthTime})
		if err != nil {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithParent(err)
		}
		// One grant per provider session and client: signing in to the
		// same application again from the same browser replaces the
		// earlier family, so repeated sign-ins do not pile up families
		// until the per-user cap ends older sessions.
		prev, err := replaceGrantLua.Run(ctx, s.p.reqs.rdb, []string{s.p.reqs.childrenKey(r.SID)},
			r.ClientID, family, lt.Absolute.Milliseconds()).Text()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return "", "", time.Time{}, fmt.Errorf("redis: %w", err)
		}
		if prev != "" {
			if err := s.p.sessions.Revoke(ctx, prev); err != nil {
				return "", "", time.Time{}, err
			}
		}
		r.Family = family
		jti, exp, err := s.CreateAccessToken(ctx, r)
		return jti, raw, exp, err
	}
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

// TokenRequestByRefreshToken finds the family of a refresh token. A token
// that is no longer its family's current one but was (rotated away, not
// expired) is a reuse: the family ends, as sso's own refresh does.
func (s storage) TokenRequestByRefreshToken(ctx context.Context, raw string) (op.RefreshTokenRequest, error) {
	hash := token.HashRefresh(raw)
	sess, err := s.p.sessions.Find(ctx, hash)
	if errors.Is(err, auth.ErrInvalidToken) {
		if sess, rerr := s.p.sessions.RevokeByToken(ctx, hash); rerr == nil {
			s.p.log.WarnContext(ctx, "refresh token reuse detected; family revoked")
			s.p.recordReuse(ctx, sess.UserID)
		}
		return nil, op.ErrInvalidRefreshToken
	}
	if err != nil {
		return nil, err
	}
	var g grant
	if err := s.p.reqs.get(ctx, s.p.reqs.grantKey(sess.Family), &g); err != nil {
		// A family of sso's own API: not a token of this provider.
		return nil, op.ErrInvalidRefreshToken
	}
	alive, err := s.sessionAlive(ctx, g.SID)
	if err != nil {
		return nil, err
	}
	u, uerr := s.p.users.ByID(ctx, g.UserID)
	if !alive || errors.Is(uerr, user.ErrNotFound) || uerr == nil && u.Disabled {
		// The provider session ended (logout, the user's sessions API,
		// an administrator): every application's tokens end with it.
		_ = s.p.sessions.Revoke(ctx, sess.Family)
		return nil, op.ErrInvalidRefreshToken
	}
	if uerr != nil {
		return nil, uerr
	}
	return &refreshRequest{grant: g, family: sess.Family, scopes: g.Scopes}, nil
}

func (s storage) TerminateSession(context.Context, string, string) error { return nil }

// TerminateSessionFromRequest ends the provider session named by the
// id_token_hint's sid: sso's session and every family issued from it to
// any application. Without a hint the browser goes to the hosted logout
// page (DefaultLogoutRedirectURI), which ends the session of its cookie.
func (s storage) TerminateSessionFromRequest(ctx context.Context, r *op.EndSessionRequest) (string, error) {
	if r.IDTokenHintClaims == nil || r.IDTokenHintClaims.SessionID == "" {
		return r.RedirectURI, nil
	}
	if err := s.p.EndSession(ctx, r.IDTokenHintClaims.SessionID); err != nil {
		return "", err
	}
	return r.RedirectURI, nil
}

const familyPrefix = "family:"

// replaceGrantLua records family as the client's grant under the provider
// session and returns the family it replaces, if any.
var replaceGrantLua = goredis.NewScript(`
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return prev
`)

func (s storage) RevokeToken(ctx context.Context, tok, userID, clientID string) *oidc.Error {
	if family, ok := strings.CutPrefix(tok, familyPrefix); ok {
		if err := s.p.sessions.Revoke(ctx, family); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	if userID == "" {
		return nil // unknown token: RFC 7009, section 2.2
	}
	var rec accessRecord
	if err := s.p.reqs.get(ctx, s.p.reqs.accessKey(tok), &rec); err != nil {
		if errors.Is(err, errNotFound) {
			return nil
		}
		return oidc.ErrServerError().WithParent(err)
	}
	if rec.ClientID != clientID {
		return oidc.ErrUnauthorizedClient().WithDescription("the token was not issued to this client")
	}
	if err := s.p.sessions.RevokeAccess(ctx, tok, rec.Expires); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s storage) GetRefreshTokenInfo(ctx context.Context, clientID, raw string) (string, string, error) {
	sess, err := s.p.sessions.Find(ctx, token.HashRefresh(raw))
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	var g grant
	if err := s.p.reqs.get(ctx, s.p.reqs.grantKey(sess.Family), &g); err != nil || g.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return g.UserID, familyPrefix + sess.Family, nil
}

func (s storage) SigningKey(context.Context) (op.SigningKey, error) {
	return opSigningKey{s.p.key}, nil
}
func (s storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}
func (s storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{opPublicKey{s.p.key}}, nil
}

func (s storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.p.clients.Get(ctx, id)
	if errors.Is(err, ErrClientNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return opClient{c: c, p: s.p}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret, counting
// attempts per client id against the login throttle's store, so the token
// endpoint is no oracle for guessing (a 256-bit secret makes that hopeless
// anyway; the count keeps the cost of trying bounded).
func (s storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	q := auth.Quota{Key: "oidc:client-secret:" + token.HashRefresh(id), Limit: s.p.cfg.SecretAttempts, Window: time.Minute}
	if s.p.throttle != nil {
		r, err := s.p.throttle.Reserve(ctx, q)
		if err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		if r.Refused >= 0 {
			return oidc.ErrInvalidClient().WithDescription("too many attempts; retry later")
		}
	}
	c, err := s.p.clients.Get(ctx, id)
	if err != nil && !errors.Is(err, ErrClientNotFound) {
		return oidc.ErrServerError().WithParent(err)
	}
	if err != nil || !c.SecretMatches(secret) {
		return ErrInvalidClient
	}
	if s.p.throttle != nil {
		_ = s.p.throttle.Release(ctx, []string{q.Key}, nil)
	}
	return nil
}

func (s storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token: sub, the e-mail claims for
// the email scope, and sid.
func (s storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	if err := s.fillUserinfo(ctx, info, r.GetSubject(), scopes); err != nil {
		return err
	}
	switch r := r.(type) {
	case opRequest:
		info.AppendClaims("sid", r.SID)
	case *refreshRequest:
		info.AppendClaims("sid", r.SID)
	}
	return nil
}

func (s storage) fillUserinfo(ctx context.Context, info *oidc.UserInfo, userID string, scopes []string) error {
	u, err := s.p.users.ByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.Disabled {
		return errors.New("oidc: account disabled")
	}
	info.Subject = u.ID
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
		info.EmailVerified = oidc.Bool(u.EmailVerified)
	}
	return nil
}

// liveAccess returns the record of a live access token: issued by this
// provider, not revoked, its session not ended.
func (s storage) liveAccess(ctx context.Context, jti, subject string) (accessRecord, error) {
	var rec accessRecord
	if err := s.p.reqs.get(ctx, s.p.reqs.accessKey(jti), &rec); err != nil {
		return rec, err
	}
	if rec.UserID != subject {
		return rec, errNotFound
	}
	revoked, err := s.p.sessions.AccessRevoked(ctx, jti, rec.SID)
	if err != nil {
		return rec, err
	}
	if revoked {
		return rec, errors.New("oidc: access token revoked")
	}
	return rec, nil
}

func (s storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, jti, subject, _ string) error {
	rec, err := s.liveAccess(ctx, jti, subject)
	if err != nil {
		return err
	}
	return s.fillUserinfo(ctx, info, rec.UserID, rec.Scopes)
}

// SetIntrospectionFromToken answers only the client the token was issued
// to: another client learns nothing of it (RFC 7662, section 4).
func (s storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, jti, subject, clientID string) error {
	rec, err := s.liveAccess(ctx, jti, subject)
	if err != nil {
		return err
	}
	if rec.ClientID != clientID {
		return errNotFound
	}
	info := new(oidc.UserInfo)
	if err := s.fillUserinfo(ctx, info, rec.UserID, rec.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope = rec.Scopes
	resp.ClientID = rec.ClientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(rec.Expires)
	resp.Audience = []string{rec.ClientID}
	resp.Issuer = s.p.cfg.Issuer
	resp.JWTID = jti
	if resp.Claims == nil {
		resp.Claims = map[string]any{}
	}
	resp.Claims["sid"] = rec.SID
	return nil
}

func (s storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetPrivateClaimsFromRequest adds sid and scope to access tokens, so a
// resource server verifying them offline knows the session and grant.
func (s storage) GetPrivateClaimsFromRequest(_ context.Context, tr op.TokenRequest, _ []string) (map[string]any, error) {
	g, err := s.grantOf(tr)
	if err != nil {
		return nil, err
	}
	return map[string]any{"sid": g.SID, "scope": strings.Join(g.Scopes, " ")}, nil
}

func (s storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("oidc: JWT client authentication is not supported")
}

func (s storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("oidc: the JWT profile grant is not supported")
}

func (s storage) Health(ctx context.Context) error { return s.p.reqs.rdb.Ping(ctx).Err() }

// opRequest is an authRequest as the op sees it.
type opRequest struct{ *authRequest }

func (r opRequest) GetID() string          { return r.ID }
func (r opRequest) GetACR() string         { return "" }
func (r opRequest) GetAMR() []string       { return r.AMR }
func (r opRequest) GetAudience() []string  { return []string{r.ClientID} }
func (r opRequest) GetAuthTime() time.Time { return r.AuthTime }
func (r opRequest) GetClientID() string    { return r.ClientID }
func (r opRequest) GetNonce() string       { return r.Nonce }
func (r opRequest) GetRedirectURI() string { return r.RedirectURI }
func (r opRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(r.ResponseType)
}
func (r opRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(r.ResponseMode) }
func (r opRequest) GetScopes() []string                { return r.Scopes }
func (r opRequest) GetState() string                   { return r.State }
func (r opRequest) GetSubject() string                 { return r.UserID }
func (r opRequest) Done() bool                         { return r.IsDone }
func (r opRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if r.Challenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: r.Challenge, Method: oidc.CodeChallengeMethod(r.ChallengeMeth)}
}

// refreshRequest is a refresh grant as the op sees it.
type refreshRequest struct {
	grant
	family string
	scopes []string
}

func (r *refreshRequest) GetAMR() []string             { return r.AMR }
func (r *refreshRequest) GetAudience() []string        { return []string{r.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time       { return r.AuthTime }
func (r *refreshRequest) GetClientID() string          { return r.ClientID }
func (r *refreshRequest) GetScopes() []string          { return r.scopes }
func (r *refreshRequest) GetSubject() string           { return r.UserID }
func (r *refreshRequest) SetCurrentScopes(sc []string) { r.scopes = sc }

// recordReuse writes the audit entry of a refresh-token reuse against
// userID's session, like sso's own refresh: whoever presented the old token
// is not known (the application retrying or a thief), so the actor is
// anonymous. A failure is logged, not returned: the family has ended
// either way, and the client's answer must not wait on the log.
func (p *Provider) recordReuse(ctx context.Context, userID string) {
	if p.audit == nil || userID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	err := p.audit.Record(ctx, audit.Entry{Actor: audit.Anonymous(), Action: audit.ActionRefreshTokenReuse,
		TargetID: userID, Outcome: audit.OutcomeRefused})
	if err != nil {
		p.log.WarnContext(ctx, "audit refresh token reuse", slog.Any("error", err))
	}
}

// auditTimeout bounds the write of an audit entry after the client's
// request has ended.
const auditTimeout = 5 * time.Second
