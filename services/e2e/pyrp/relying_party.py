#!/usr/bin/env python3
"""An OpenID Connect relying party built on Authlib, independent of sso's Go code.

Given only the provider's discovery URL, a registered client and a user's
credentials, it signs the user in with the authorization code flow (PKCE
S256, state, nonce) and prints what it learned as one JSON object:

  1. discovery, then an authorization URL made by Authlib's OAuth2Session;
  2. the browser's part, played with requests: follow the redirects to the
     hosted sign-in page, fill in its form (hidden fields and CSRF token
     included, parsed with html.parser), allow the consent page if one
     comes, and stop at the redirect to the redirect URI;
  3. the code exchanged by Authlib, the ID token checked as Authlib's own
     OpenID clients check it (signature against the JWKS with joserfc, the
     JOSE library Authlib itself uses, then Authlib's CodeIDToken claims:
     iss, aud, exp, iat, nonce, at_hash), userinfo;
  4. one refresh: the refresh token rotates, and the old one is refused
     (skipped when the client was not granted offline_access);
  5. a second sign-in, which the provider's session cookie answers without
     the form (single sign-on), and RP-initiated logout with id_token_hint;
     the tokens of that sign-in then fail, and a silent sign-in
     (prompt=none) comes back with login_required.

Any step the provider answers otherwise fails the run (exit status 1, the
reason on stderr). Secrets may come from the environment instead of the
command line: RP_CLIENT_SECRET, RP_PASSWORD.

    relying_party.py --discovery-url http://127.0.0.1:8000/.well-known/openid-configuration \\
        --client-id ID --redirect-uri http://127.0.0.1:9/cb --email ada@example.com
"""

import argparse
import json
import os
import sys
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken, IDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

TIMEOUT = 15
MAX_HOPS = 10


class Failure(Exception):
    """A step the provider did not answer as the specifications say."""


class Forms(HTMLParser):
    """Collects a page's forms (action, method, named inputs and buttons)
    and the text of its alerts, as a browser without JavaScript sees them."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self.alerts = []
        self._alert_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                               "inputs": [], "buttons": []})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["inputs"].append({"name": a["name"], "type": (a.get("type") or "text").lower(),
                                             "value": a.get("value") or ""})
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1]["buttons"].append({"name": a["name"], "value": a.get("value") or ""})
        if a.get("role") == "alert":
            self._alert_depth = 1
            self.alerts.append("")
        elif self._alert_depth:
            self._alert_depth += 1

    def handle_endtag(self, tag):
        if self._alert_depth:
            self._alert_depth -= 1

    def handle_data(self, data):
        if self._alert_depth:
            self.alerts[-1] += data


def parse_page(html):
    p = Forms()
    p.feed(html)
    p.close()
    return p


def same_endpoint(url, target):
    """Whether url is target with a query added (redirect URIs match exactly)."""
    u, t = urlsplit(url), urlsplit(target)
    return (u.scheme, u.netloc, u.path) == (t.scheme, t.netloc, t.path)


class Browser:
    """The user's browser: one cookie jar, redirects followed by hand so
    that the one to the application's URI is caught, not fetched."""

    def __init__(self):
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "ssokit-authlib-relying-party"
        self.pages = []  # the paths of the provider's pages shown, in order

    def go(self, url, stop_at, email=None, password=None, method="GET", data=None):
        """Follows url until a redirect to stop_at, submitting the sign-in
        form (when email is given) and allowing consent on the way; returns
        the URL redirected to."""
        for _ in range(MAX_HOPS):
            resp = self.http.request(method, url, data=data, allow_redirects=False, timeout=TIMEOUT)
            method, data = "GET", None
            if resp.is_redirect:
                url = urljoin(resp.url, resp.headers["Location"])
                if same_endpoint(url, stop_at):
                    return url
                continue
            if resp.status_code != 200 or "html" not in resp.headers.get("Content-Type", ""):
                raise Failure(f"{resp.url}: {resp.status_code} {resp.text[:300]!r}")
            page = parse_page(resp.text)
            self.pages.append(urlsplit(resp.url).path)
            form, fields = self.fill(page, resp.url, email, password)
            if form is None:
                return resp.url  # a page with nothing to submit: where the flow ends
            url, method, data = urljoin(resp.url, form["action"]), form["method"].upper(), fields
        raise Failure(f"more than {MAX_HOPS} hops without reaching {stop_at}")

    def fill(self, page, at, email, password):
        for form in page.forms:
            names = {i["name"]: i for i in form["inputs"]}
            fields = {i["name"]: i["value"] for i in form["inputs"] if i["type"] == "hidden"}
            if "password" in names and names["password"]["type"] == "password":
                if email is None:
                    raise Failure(f"{at} asks for a password where none was expected")
                if page.alerts:  # the form again, with an error: do not retry
                    raise Failure(f"sign-in refused: {' '.join(a.strip() for a in page.alerts)}")
                fields["email"], fields["password"] = email, password
                return form, fields
            approve = [b for b in form["buttons"] if b["value"] == "approve"]
            if approve:
                fields[approve[0]["name"]] = "approve"
                return form, fields
        return None, None

    def get_page(self, url):
        resp = self.http.get(url, allow_redirects=True, timeout=TIMEOUT)
        return resp, parse_page(resp.text)


class RelyingParty:
    def __init__(self, args):
        self.args = args
        resp = requests.get(args.discovery_url, timeout=TIMEOUT)
        resp.raise_for_status()
        self.meta = resp.json()
        issuer = self.meta["issuer"]
        # OpenID Connect Discovery 1.0, section 4.3: the issuer is the URL
        # the document was fetched under.
        if args.discovery_url != issuer.rstrip("/") + "/.well-known/openid-configuration":
            raise Failure(f"issuer {issuer} does not match the discovery URL {args.discovery_url}")
        if "S256" not in self.meta.get("code_challenge_methods_supported", []):
            raise Failure("the provider does not announce PKCE S256")
        if "RS256" not in self.meta.get("id_token_signing_alg_values_supported", []):
            raise Failure("the provider does not announce RS256 ID tokens")
        self.auth_method = args.auth_method or ("client_secret_basic" if args.client_secret else "none")
        if self.auth_method not in self.meta.get("token_endpoint_auth_methods_supported", ["client_secret_basic"]):
            raise Failure(f"the provider does not announce token endpoint auth {self.auth_method}")
        resp = requests.get(self.meta["jwks_uri"], timeout=TIMEOUT)
        resp.raise_for_status()
        self.keys = KeySet.import_key_set(resp.json())
        self.browser = Browser()

    def session(self, token=None):
        return OAuth2Session(
            client_id=self.args.client_id, client_secret=self.args.client_secret or None,
            token_endpoint_auth_method=self.auth_method, scope=self.args.scope,
            redirect_uri=self.args.redirect_uri, code_challenge_method="S256", token=token,
        )

    def sign_in(self, prompt=None, with_password=True):
        """One authorization code flow; returns (token, ID token claims) or,
        when the provider sends an error back, its error code."""
        s = self.session()
        verifier, nonce = generate_token(48), generate_token(24)
        extra = {"prompt": prompt} if prompt else {}
        url, state = s.create_authorization_url(self.meta["authorization_endpoint"], code_verifier=verifier,
                                                nonce=nonce, **extra)
        callback = self.browser.go(url, self.args.redirect_uri,
                                   email=self.args.email if with_password else None, password=self.args.password)
        if not same_endpoint(callback, self.args.redirect_uri):
            raise Failure(f"the flow stopped at {callback} instead of the redirect URI")
        query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
        if query.get("state") != state:
            raise Failure("the callback's state is not the request's")
        if "error" in query:
            return query["error"], None
        # Authlib checks the state again and sends the PKCE verifier.
        token = s.fetch_token(self.meta["token_endpoint"], authorization_response=callback,
                              state=state, code_verifier=verifier)
        claims = self.verify_id_token(token["id_token"], nonce, token["access_token"])
        # The same check must refuse another flow's nonce, or it checks nothing.
        try:
            self.verify_id_token(token["id_token"], generate_token(24), token["access_token"])
            raise Failure("an ID token passed the check with another nonce")
        except JoseError:
            pass
        return token, claims

    def verify_id_token(self, raw, nonce, access_token, cls=CodeIDToken):
        """Authlib's check of an ID token, as its OpenID clients do it, with
        iss and aud pinned to the issuer and the client."""
        decoded = jwt.decode(raw, self.keys, algorithms=["RS256"])
        if decoded.header.get("alg") != "RS256":
            raise Failure(f"ID token signed {decoded.header.get('alg')}, want RS256")
        options = {"iss": {"essential": True, "value": self.meta["issuer"]},
                   "aud": {"essential": True, "value": self.args.client_id},
                   "exp": {"essential": True}}
        params = {"client_id": self.args.client_id, "access_token": access_token}
        if nonce is not None:
            params["nonce"] = nonce
        claims = cls(decoded.claims, decoded.header, options, params)
        claims.validate(leeway=30)
        if claims["exp"] <= time.time():
            raise Failure("ID token expired")
        return claims

    def userinfo(self, token):
        resp = self.session(token).get(self.meta["userinfo_endpoint"], timeout=TIMEOUT)
        return resp.status_code, (resp.json() if resp.status_code == 200 else None)

    def refresh(self, refresh_token):
        """Returns the new token, or the provider's error code."""
        try:
            return self.session().refresh_token(self.meta["token_endpoint"], refresh_token=refresh_token)
        except OAuthError as e:
            return e.error

    def run(self):
        out = {"issuer": self.meta["issuer"], "client_id": self.args.client_id, "client_auth": self.auth_method}

        token, claims = self.sign_in()
        out["sign_in"] = {
            "pages": list(self.browser.pages), "sub": claims["sub"], "email": claims.get("email"),
            "email_verified": claims.get("email_verified"), "sid": claims.get("sid"), "alg": "RS256",
            "kid": claims.header.get("kid"), "nonce_checked": True,
            "scope": token.get("scope"), "expires_in": token.get("expires_in"),
        }
        status, info = self.userinfo(token)
        if status != 200 or info.get("sub") != claims["sub"]:
            raise Failure(f"userinfo: {status} {info}")
        out["userinfo"] = info

        out["refresh"] = self.rotate(token, claims) if "refresh_token" in token else None

        pages = len(self.browser.pages)
        token2, claims2 = self.sign_in(with_password=False)
        out["second_sign_in"] = {"sub": claims2["sub"], "sid": claims2.get("sid"),
                                 "pages_shown": self.browser.pages[pages:]}

        logout_url = add_params_to_uri(self.meta["end_session_endpoint"], {"id_token_hint": token2["id_token"]}.items())
        if self.args.post_logout_redirect_uri:
            state = generate_token(20)
            logout_url = add_params_to_uri(logout_url, [("post_logout_redirect_uri", self.args.post_logout_redirect_uri),
                                                        ("state", state)])
            back = self.browser.go(logout_url, self.args.post_logout_redirect_uri)
            returned = parse_qs(urlsplit(back).query).get("state", [None])[0]
            if not same_endpoint(back, self.args.post_logout_redirect_uri) or returned != state:
                raise Failure(f"logout ended at {back}, want {self.args.post_logout_redirect_uri} with the state")
            ended = back
        else:
            resp, _ = self.browser.get_page(logout_url)
            if resp.status_code != 200 or "signed out" not in resp.text:
                raise Failure(f"logout page: {resp.status_code}")
            ended = resp.url
        silent = self.sign_in(prompt="none", with_password=False)
        out["logout"] = {
            "ended_at": ended,
            "refresh_token": self.refresh_outcome(token2["refresh_token"]) if "refresh_token" in token2 else None,
            "userinfo_status": self.userinfo(token2)[0],
            "silent_sign_in": silent[0] if silent[1] is None else "signed in",
            # For the caller's own check that the session is over.
            "refresh_token_value": token2.get("refresh_token"),
        }
        return out

    def rotate(self, token, claims):
        """One refresh: the token must rotate and the old one be refused.
        Only for a client granted offline_access."""
        old = token["refresh_token"]
        fresh = self.refresh(old)
        if isinstance(fresh, str):
            raise Failure(f"refresh: {fresh}")
        if fresh.get("id_token"):
            refreshed = self.verify_id_token(fresh["id_token"], None, fresh["access_token"], cls=IDToken)
            if refreshed["sub"] != claims["sub"]:
                raise Failure("the refreshed ID token names another user")
        replay = self.refresh(old)
        return {
            "rotated": fresh.get("refresh_token") not in (None, old),
            "new_access_token_works": self.userinfo(fresh)[0] == 200,
            "old_refresh_token": "accepted" if not isinstance(replay, str) else replay,
            # Presenting a rotated token again ends its family (reuse detection).
            "new_refresh_token_after_reuse": self.refresh_outcome(fresh["refresh_token"]),
        }

    def refresh_outcome(self, refresh_token):
        r = self.refresh(refresh_token)
        return "accepted" if not isinstance(r, str) else r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--discovery-url", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", default=os.environ.get("RP_CLIENT_SECRET", ""),
                    help="a confidential client's secret (default $RP_CLIENT_SECRET); none: a public client")
    ap.add_argument("--auth-method", choices=["client_secret_basic", "client_secret_post", "none"],
                    help="token endpoint auth (default client_secret_basic with a secret, none without)")
    ap.add_argument("--redirect-uri", required=True)
    ap.add_argument("--post-logout-redirect-uri", default="")
    ap.add_argument("--scope", default="openid email offline_access")
    ap.add_argument("--email", required=True)
    ap.add_argument("--password", default=os.environ.get("RP_PASSWORD", ""), help="default $RP_PASSWORD")
    args = ap.parse_args()
    if not args.password:
        ap.error("a password is needed (--password or RP_PASSWORD)")
    try:
        summary = RelyingParty(args).run()
    except (Failure, OAuthError, JoseError, requests.RequestException, KeyError) as e:
        print(f"relying party: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    json.dump(summary, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
