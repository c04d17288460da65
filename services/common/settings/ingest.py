"""Ingest worker settings (env ``NEWSFLOW_INGEST__<FIELD>``)."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

# The languages most news in our sources is written in. A restricted set keeps detection fast (~0.6 ms for
# 500 chars) and avoids confusions between close rare languages (e.g. Bokmål/Nynorsk) on short texts.
DEFAULT_LANGUAGES = (
    "ar",
    "cs",
    "da",
    "de",
    "el",
    "en",
    "es",
    "fa",
    "fi",
    "fr",
    "he",
    "hi",
    "hu",
    "id",
    "it",
    "ja",
    "ko",
    "nb",
    "nl",
    "pl",
    "pt",
    "ro",
    "ru",
    "sv",
    "th",
    "tr",
    "uk",
    "vi",
    "zh",
)


class IngestSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # --- parsing -------------------------------------------------------------------------------------------
    max_article_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="an input (text/JSON) larger than this is dead-lettered (no real article is 2 MB of text)",
    )
    max_html_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="an HTML page (after gunzip) larger than this is dead-lettered: the largest page of the "
        "extraction benchmark is 1.5 MB with its inline scripts; 8 MB leaves room without letting a "
        "page eat the worker",
    )
    max_title_chars: int = Field(
        default=1000, ge=10, description="longer titles are dead-lettered as malformed"
    )
    min_year: int = Field(default=1900, description="published_at before this year is rejected as absurd")
    max_future_days: int = Field(
        default=2, description="published_at more than this many days ahead is rejected"
    )
    min_html_body_chars: int = Field(
        default=200,
        ge=1,
        description="extracted HTML text shorter than this is 'no-article' (menus, cookie walls, index pages); "
        "the shortest article body of the extraction benchmark has 369 chars",
    )
    html_favor_precision: bool = Field(
        default=True,
        description="trafilatura's favor_precision: best body F1 on the extraction benchmark (0.964 vs 0.960); "
        "when it keeps less than html_retry_below_chars the extractor retries in balanced mode",
    )
    html_retry_below_chars: int = Field(
        default=500,
        ge=0,
        description="precision-mode text shorter than this triggers a second, balanced extraction that wins "
        "when it finds more: lifts benchmark F1 from 0.964 to 0.968 at the cost of a 2nd pass on few pages",
    )
    languages: tuple[str, ...] = Field(
        default=DEFAULT_LANGUAGES,
        description="ISO 639-1 codes the language detector chooses among; a short list keeps it fast",
    )
    language_sample_chars: int = Field(
        default=500,
        ge=50,
        description="characters of title+body given to the language detector: on the extraction benchmark "
        "500 decide exactly as the whole text does (181/181), at ~0.6 ms an article",
    )

    # --- files ---------------------------------------------------------------------------------------------
    follow_symlinks: bool = Field(
        default=False,
        description="inside an ingested directory, follow symbolic links whose target stays inside it (a link "
        "leading out of the directory is refused whatever this says); off: every link is refused as 'symlink'",
    )

    # --- fetching (feeds, URLs) -----------------------------------------------------------------------------
    user_agent: str = Field(
        default="Newsflow/0.1 (+https://github.com/newsflow; news ingestion)",
        description="sent with every request: publishers block anonymous clients and want a contact",
    )
    fetch_timeout_s: float = Field(
        default=15.0,
        gt=0,
        description="connect timeout, and the longest wait for the next bytes of an answer",
    )
    fetch_deadline_s: float = Field(
        default=30.0,
        gt=0,
        description="overall deadline of one fetch (every redirect and the whole body): a server that trickles "
        "an endless answer is given up after this, whatever fetch_timeout_s",
    )
    fetch_max_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="a response body larger than this is cut off and refused (= max_html_bytes); checked as "
        "the bytes arrive, on the compressed and on the decoded size (a gzip bomb stops at the cap)",
    )
    fetch_max_redirects: int = Field(
        default=5, ge=0, description="more redirects than this is a loop or a tracker chain"
    )
    fetch_per_host_concurrency: int = Field(
        default=2,
        ge=1,
        description="requests in flight to one host at a time: polite, and what small sites tolerate",
    )
    fetch_allow_hosts: tuple[str, ...] = Field(
        default=(),
        description="hosts or IP networks (CIDR) allowed even though they resolve to private/loopback addresses; "
        "empty by default so a feed cannot make the worker probe the internal network (SSRF); "
        "tests add 127.0.0.1",
    )
    feed_state_path: str = Field(
        default="feeds-state.json",
        description="JSON file keeping each feed's ETag/Last-Modified and the entries already seen, so a "
        "restart neither re-fetches every feed in full nor re-sends its entries; relative = in the data dir",
    )
    feed_seen_max: int = Field(
        default=5000,
        ge=10,
        description="entry ids remembered per feed: far more than any feed lists at once",
    )

    # --- HTTP push API --------------------------------------------------------------------------------------
    push_enabled: bool = Field(default=True, description="serve the push API from the ingest worker")
    push_host: str = Field(
        default="127.0.0.1", description="bind address of the push API; loopback unless exposed on purpose"
    )
    push_port: int = Field(
        default=8088, ge=0, le=65535, description="port of the push API (0 = pick a free one)"
    )
    push_token: SecretStr | None = Field(
        default=None,
        description="bearer token required on POST /articles; unset = no auth, allowed only while push_host "
        "is a loopback address; an empty token is an error at start",
    )
    push_max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="larger push bodies get 413: a batch of a few thousand articles fits, a runaway client does not",
    )
    push_max_records: int = Field(
        default=10_000,
        ge=1,
        description="records accepted in one push request; more is refused as one 413",
    )
    push_read_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="time a client has to send a request body; a slower one gets 408 and is disconnected",
    )
    push_max_connections: int = Field(
        default=64,
        ge=1,
        description="open connections to the push API; more are answered 503 with Retry-After and closed",
    )
    push_max_concurrent_requests: int = Field(
        default=8,
        ge=1,
        description="push requests being read or parsed at once; more get 503 with Retry-After",
    )
    push_max_requests_per_client: int = Field(
        default=2,
        ge=1,
        description="push requests in flight from one client address; more get 503 with Retry-After",
    )
    push_parse_threads: int = Field(
        default=1,
        ge=1,
        description="threads parsing push bodies off the event loop (the worker's consumer, /readyz and "
        "other requests stay served while a large push is parsed)",
    )
    push_retry_after_s: int = Field(
        default=2, ge=1, description="Retry-After (seconds) sent with 503 when the push API is saturated"
    )

    @model_validator(mode="after")
    def _push_auth(self) -> IngestSettings:
        if self.push_token is not None and not self.push_token.get_secret_value().strip():
            raise ValueError(
                "ingest.push_token is empty: set a real token, or leave it unset (loopback only)"
            )
        if self.push_enabled and self.push_token is None and not is_loopback(self.push_host):
            raise ValueError(
                f"ingest.push_host {self.push_host!r} is not a loopback address: the push API needs "
                "ingest.push_token (NEWSFLOW_INGEST__PUSH_TOKEN) to listen beyond this machine"
            )
        return self


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine ('' and 0.0.0.0 mean everywhere)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name could resolve to anything
