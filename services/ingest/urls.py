"""URL canonicalization: one spelling per article, so the same story reached by two links gets one id.

Rules, each because two spellings of one page are common in the wild:
- only absolute http/https URLs; scheme and host lowercased; IDN hosts as punycode (UTS 46 mapping, so a
  full-width or upper-case spelling folds, while a Cyrillic look-alike of a Latin host stays a *different*,
  visibly ``xn--`` host); the trailing dot of a host dropped;
- ``www.``, ``m.``, ``mobile.``, ``amp.`` (mobile/AMP mirrors) dropped from the host; default ports dropped;
- fragment dropped; tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``ref``, ...) dropped; the rest
  sorted;
- path: dot segments resolved, percent-escapes normalized, an AMP ``/amp`` suffix and a trailing slash dropped.
Parameters that select content (``?id=``, ``?p=``, ``?story=``, ...) are kept: dropping one would merge
different articles, which is worse than missing a duplicate.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

import idna

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "cmpid",
        "ocid",
        "ncid",
        "smid",
        "smtyp",
        "sr_share",
        "soc_src",
        "soc_trk",
        "share",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_enc_id",
        "oly_anon_id",
        "vero_id",
        "wt.mc_id",
        "s_cid",
        "xtor",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "amp",
        "outputtype",
        "cmp",
        "ito",
        "rss",
        "taid",
        "via",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_", "__")
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What may stay unescaped in a path or a query value: RFC 3986 unreserved, sub-delims, ':' '@' '/', and '%'
# (escapes were normalized before quoting).
_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = "/:@!$'()*+,;-._~%?"
_HOST_OK = re.compile(r"[a-z0-9\-_]+(\.[a-z0-9\-_]+)*")


def is_tracking_param(name: str) -> bool:
    n = name.lower()
    return n in TRACKING_PARAMS or n.startswith(TRACKING_PREFIXES)


def _norm_escapes(s: str, safe: str = _SAFE) -> str:
    """Decode escapes of unreserved characters, upper-case the others, escape raw non-ASCII (IRIs)."""

    def fix(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()

    return quote(_ESCAPE.sub(fix, s), safe=safe)


def _host(hostname: str) -> str | None:
    host = hostname.strip().rstrip(".").lower()
    if not host:
        return None
    if ":" in host:  # an IPv6 literal (urlsplit took the brackets off)
        return f"[{host}]" if re.fullmatch(r"[0-9a-f:.]+", host) else None
    try:
        host = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        if not host.isascii():
            return None  # not a valid IDN: no canonical spelling
        # ASCII names IDNA refuses (underscores in labels) are still valid DNS names: keep them as they are.
    if not _HOST_OK.fullmatch(host):
        return None
    for prefix in _HOST_PREFIXES:
        # Only when a registrable-looking name stays: 'm.co' or 'www.com' are hosts in their own right.
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    return host


def _path(raw: str) -> str:
    path = _norm_escapes(raw) or "/"
    if not path.startswith("/"):
        path = "/" + path
    path = posixpath.normpath(path)
    if path.startswith("//"):  # POSIX keeps a leading '//'; a URL path does not need it
        path = "/" + path.lstrip("/")
    if path.lower().endswith("/amp"):
        path = path[:-4] or "/"
    return path if path == "/" else path.rstrip("/") or "/"


def _query(raw: str) -> str:
    # Split by hand rather than parse_qsl + urlencode: decoding would turn an escaped '&' or '=' inside a value
    # into a separator and change which article the URL selects.
    kept = []
    for pair in raw.split("&"):
        if not pair:
            continue
        name, eq, value = pair.partition("=")
        name = _norm_escapes(name, _QUERY_SAFE)
        if is_tracking_param(unquote_plus(name)):
            continue
        kept.append(name + eq + _norm_escapes(value, _QUERY_SAFE))
    return "&".join(sorted(kept))


def canonical_url(url: str | None) -> str | None:
    """The canonical spelling of ``url``, or None when it is not an absolute http(s) URL."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if len(url) > 4096 or any(ch in url for ch in "\x00\r\n\t \\"):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = _host(parts.hostname)
    if host is None:
        return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, _path(parts.path), _query(parts.query), ""))


def host_of(url: str | None) -> str | None:
    """The canonical host of ``url`` (an outlet name of last resort), or None."""
    canon = canonical_url(url)
    return urlsplit(canon).hostname if canon else None


_CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def mixed_script_host(url: str) -> str | None:
    """The host label of ``url`` that mixes Latin with Cyrillic or Greek letters (``аpple`` with a Cyrillic
    ``а``): a homoglyph made to pass for another site. None when every label keeps to one script — a wholly
    Cyrillic or Greek domain is a real domain."""
    host = urlsplit(url.strip()).hostname or ""
    try:
        host = idna.decode(host) if host.startswith("xn--") or ".xn--" in host else host
    except idna.IDNAError:
        return host
    for label in host.split("."):
        scripts = set()
        for ch in label:
            if ch.isalpha():
                name = unicodedata.name(ch, "")
                scripts.add(next((s for s in _CONFUSABLE_SCRIPTS if name.startswith(s)), "OTHER"))
        if len(scripts & set(_CONFUSABLE_SCRIPTS)) > 1:
            return label
    return None
