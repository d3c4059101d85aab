"""Whether a browser's request comes from this site: the web chat's POSTs and the console's forms
refuse what another site's page makes a browser send."""

from __future__ import annotations

from urllib.parse import urlsplit


def same_origin(origin: str, host: str, public_url: str = "") -> bool:
    """True when a browser's Origin header names this site (as the Host header, or the public URL,
    says): the page's own POSTs pass, a form or script on another site does not."""
    if origin == "null":
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    given = _netloc(parts.scheme, parts.netloc)
    allowed = {_netloc(parts.scheme, host)}
    if public_url:
        public = urlsplit(public_url)
        allowed.add(_netloc(public.scheme, public.netloc))
    return given in allowed


def _netloc(scheme: str, netloc: str) -> str:
    netloc = netloc.lower()
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    return netloc[: -len(default)] if default and netloc.endswith(default) else netloc
