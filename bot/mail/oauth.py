"""OAuth2 for IMAP (XOAUTH2): trade the refresh token from the environment for an access token.

Providers that refuse password login (Microsoft 365) or discourage it (Google) accept
`AUTHENTICATE XOAUTH2` with a short-lived access token. Mailroom keeps no token on disk: the refresh token
lives in an environment variable (`refresh_token_env`) like IMAP passwords do, and access tokens are kept
in memory until a minute before they expire. Getting the first refresh token (the consent in a browser)
is the provider's tooling's job.
"""

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from bot.core.config import ImapOAuth
from bot.core.errors import SyncError

TIMEOUT = 20.0
_cache: dict[tuple[str, str, str], tuple[str, float]] = {}
_lock = threading.Lock()


def _is_loopback_url(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1")


def access_token(oauth: ImapOAuth, *, timeout: float = TIMEOUT) -> str:
    """A valid access token: from memory, or from the token endpoint (refresh_token grant)."""
    refresh = os.environ.get(oauth.refresh_token_env)
    if not refresh:
        raise SyncError(f"the environment variable {oauth.refresh_token_env} (oauth2.refresh_token_env) is not set")
    url = oauth.token_url
    if not url.startswith("https://") and not _is_loopback_url(url):
        raise SyncError(f"oauth2.token_url {url} must use https (plain http is for loopback test servers only)")
    key = (url, oauth.client_id, refresh)
    with _lock:
        cached = _cache.get(key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": oauth.client_id}
    if oauth.client_secret_env:
        secret = os.environ.get(oauth.client_secret_env)
        if not secret:
            raise SyncError(f"the environment variable {oauth.client_secret_env} (oauth2.client_secret_env) is not set")
        form["client_secret"] = secret
    if oauth.scope:
        form["scope"] = oauth.scope
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https or loopback
            body = response.read(1 << 20)
    except urllib.error.HTTPError as exc:
        said = _error_of(exc.read(1 << 16))
        raise SyncError(f"OAuth2 token endpoint {url} refused the refresh token: HTTP {exc.code} {said}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SyncError(f"OAuth2 token endpoint {url} unreachable: {reason}") from None
    try:
        data = json.loads(body)
        token = str(data["access_token"])
        lifetime = float(data.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError):
        raise SyncError(f"OAuth2 token endpoint {url} answered without an access_token") from None
    with _lock:
        _cache[key] = (token, time.monotonic() + max(lifetime - 60, 0))
    return token


def forget_tokens() -> None:
    """Drop cached access tokens (after the server refused one, or in tests)."""
    with _lock:
        _cache.clear()


def _error_of(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", errors="replace").strip()
    if not isinstance(data, dict):
        return ""
    words = [str(data.get("error", "")), str(data.get("error_description", ""))]
    return ": ".join(w for w in words if w)[:300]
