"""Nothing lost, nothing doubled across real network faults: partitions (a link down, blackhole routes), a bulk
response cut after the server applied it, a dedupe worker cut off from its shared store, slow links, latency,
jitter and resets. Every scenario drives a real stream through the four workers, each in its own network
namespace, the broker and search server in another, and checks the index afterwards (``stream.check_index``).

Run alone with ``pytest -m netfault`` (as root; skipped with the reason elsewhere). Figures are printed as
``NETFAULT <scenario>: ...`` lines (``-s`` shows them); no timing gates a test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netfault.net import Net
from tests.netfault.stack import NetPipeline, NetWorker, make_net_pipeline
from tests.netfault.stream import (
    Sent,
    check_healthy,
    check_index,
    report,
    send_bad,
    send_copies,
    send_stories,
)

pytestmark = [pytest.mark.netfault, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def pipe(net: Net, tmp_path: Path) -> Iterator[NetPipeline]:
    p = make_net_pipeline(net, tmp_path)
    try:
        yield p
    finally:
        p.stop()


def _wait_docs(p: NetPipeline, n: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while len(p.documents()) < n:
        p.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {n} documents after {timeout_s}s")
        time.sleep(0.3)


def _metric_soon(w: NetWorker, name: str, timeout_s: float = 30) -> float:
    """A worker's metric as soon as its web server answers (just after a heal it may not yet)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = w.metric(name)
            if value is not None:
                return value
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{w.node.name} serves no {name}")
        time.sleep(0.2)


def test_a_worker_partitioned_from_the_broker_beyond_its_session_timeout_hands_over_and_rejoins(
    net: Net, pipe: NetPipeline
) -> None:
    """1. enrich, then dedupe: one of two workers of the stage is partitioned from the broker mid-stream for
    longer than its session timeout (10 s here) — the enrich worker drops off the network (its link down), the
    dedupe worker loses only the broker (a blackhole route to it; its store stays reachable, and so does its
    /metrics: newsflow_broker_up 0). The stream completes on the other worker while it is away (its partitions
    moved); on heal it rejoins, takes partitions again, and nothing it had not finished was committed."""
    p = pipe
    p.start(["ingest", "dedupe", "dedupe", "enrich", "enrich", "index"])
    p.wait_ready()
    sent = Sent()
    send_bad(p, sent)
    n = 0
    figures: dict[str, float] = {}
    for stage in ("enrich", "dedupe"):
        send_stories(p, sent, n, n + 120, per_file=4)
        n += 120
        _wait_docs(p, n - 100)  # mid-stream
        victim = p.of(stage)[0]
        reconnects = _metric_soon(victim, "newsflow_broker_reconnects_total")
        cut_at = time.monotonic()
        broker = p.servers.broker_addr
        if stage == "enrich":
            net.cut(victim.node)
        else:
            net.route(victim.node, "blackhole", broker)
        send_stories(p, sent, n, n + 80, per_file=4)
        send_copies(p, sent, list(range(n - 40, n - 30)))
        n += 80
        p.wait(timeout_s=240)  # completes without the cut worker: its partitions moved to the other one
        figures[f"{stage}_handover_s"] = time.monotonic() - cut_at
        time.sleep(max(0.0, 15 - (time.monotonic() - cut_at)))  # away longer than the session timeout
        assert victim.proc.poll() is None, "a partitioned worker waits, it does not die"
        if stage == "dedupe":
            assert victim.metric("newsflow_broker_up") == 0.0, "the operator sees the partition"
        heal_at = time.monotonic()
        if stage == "enrich":
            net.heal(victim.node)
        else:
            net.unroute(victim.node, "blackhole", broker)
        rebalances = _metric_soon(victim, "newsflow_faust_rebalances")
        while _metric_soon(victim, "newsflow_faust_rebalances") <= rebalances:  # it rejoins its group
            assert time.monotonic() - heal_at < 180, f"{stage} worker did not rejoin: {victim.log_path}"
            time.sleep(1)
        check_healthy(p)
        # Rejoined: it takes partitions again and processes part of the stream that follows.
        before = victim.processed()
        while victim.processed() == before:
            assert time.monotonic() - heal_at < 180, f"{stage} worker did not rejoin: {victim.log_path}"
            send_stories(p, sent, n, n + 20, per_file=4)
            n += 20
            p.wait(timeout_s=240)
        figures[f"{stage}_rejoin_s"] = time.monotonic() - heal_at
        assert _metric_soon(victim, "newsflow_broker_reconnects_total") > reconnects
    figures |= check_index(p, sent)
    report("partition-from-broker", **figures)


def test_the_index_worker_partitioned_from_the_search_server_for_30_s_pauses_and_resumes(
    net: Net, pipe: NetPipeline
) -> None:
    """2. A blackhole route to the search server in the index worker's namespace (silent drop) for 30 s:
    the worker waits (newsflow_search_up 0), nothing is dead-lettered for the outage, everything arrives."""
    p = pipe
    p.start()
    p.wait_ready()
    sent = Sent()
    send_bad(p, sent)
    send_stories(p, sent, 0, 100, per_file=5)
    _wait_docs(p, 10)
    index = p.of("index")[0]
    search = p.servers.search_addr
    net.route(index.node, "blackhole", search)
    send_stories(p, sent, 100, 200, per_file=5)
    send_copies(p, sent, list(range(90, 110)))
    time.sleep(30)
    assert index.proc.poll() is None, "the index worker waits, it does not die"
    assert index.metric("newsflow_search_up") == 0.0
    assert p.tracker is not None
    p.tracker.poll()
    assert {d.trace.ingest_id for d in p.tracker.dead if d.trace} <= sent.bad, "dead-lettered for an outage"
    heal_at = time.monotonic()
    net.unroute(index.node, "blackhole", search)
    p.wait(timeout_s=240)
    recovery = time.monotonic() - heal_at
    assert index.metric("newsflow_search_up") == 1.0
    figures = check_index(p, sent) | {"recovery_s": recovery, "healthy_s": check_healthy(p)}
    report("index-partitioned-from-search-30s", **figures)


def test_a_bulk_response_cut_after_the_server_applied_it_is_retried_idempotently(
    net: Net, tmp_path: Path
) -> None:
    """3. The fault proxy on the index worker's path to the search server withholds the answer to a bulk of
    documents, then to a bulk of duplicate updates (guarded by if_seq_no), each after the server applied it,
    and the index worker's link goes down meanwhile: its retries apply the same writes again, which changes
    nothing — no doubled document, no doubled duplicate entry."""
    p = make_net_pipeline(
        net, tmp_path, proxy_args=["--hold", "_bulk", "--hold", "if_seq_no"], everything_via_proxy=False
    )
    proxy = p.proxy
    assert proxy is not None
    try:
        p.start(env={"index": {"NEWSFLOW_ES__URL": f"http://{p.servers.proxy_addr}:9200"}})
        p.wait_ready()
        index = p.of("index")[0]
        sent = Sent()
        send_bad(p, sent)
        figures: dict[str, float] = {}
        send_stories(p, sent, 0, 60, per_file=3)
        for what in ("documents", "duplicates"):
            proxy.next_line("HELD", 120)  # the server applied the bulk; its answer is withheld
            cut_at = time.monotonic()
            net.cut(index.node)
            time.sleep(
                10
            )  # longer than the request timeout (5 s here): the worker gives the bulk up, retries
            net.heal(index.node)
            p.wait(timeout_s=240)
            figures[f"{what}_recovery_s"] = time.monotonic() - cut_at
            if what == "documents":
                send_copies(p, sent, list(range(0, 60, 3)))
        stats = proxy.stop()
        assert "held=2" in stats, stats
        figures |= check_index(p, sent)
        figures["healthy_s"] = check_healthy(p)
        report("bulk-response-cut", **figures)
    finally:
        p.stop()


def test_a_dedupe_worker_cut_off_from_its_store_never_lets_a_copy_be_decided_against_an_undecided_original(
    net: Net, pipe: NetPipeline
) -> None:
    """4. Two dedupe workers; one loses its shared store (blackhole to the search server) while the copies
    of articles on its partitions arrive on the other's. Each story ends as exactly one document with its
    other arrival recorded on it once: never both unique, never a duplicate of an undecided article."""
    p = pipe
    p.start(["ingest", "dedupe", "dedupe", "enrich", "index"])
    p.wait_ready()
    sent = Sent()
    send_bad(p, sent)
    send_stories(p, sent, 0, 20, per_file=2)
    p.wait(timeout_s=180)
    cut = p.of("dedupe")[0]
    search = p.servers.search_addr
    net.route(cut.node, "blackhole", search)
    send_stories(p, sent, 20, 60)  # about half reach the cut worker, which cannot decide them
    time.sleep(4)
    send_copies(p, sent, list(range(20, 60)))  # their copies, on other partitions: half on the other worker
    time.sleep(12)
    assert cut.proc.poll() is None
    heal_at = time.monotonic()
    net.unroute(cut.node, "blackhole", search)
    p.wait(timeout_s=240)
    figures = check_index(p, sent) | {"recovery_s": time.monotonic() - heal_at, "healthy_s": check_healthy(p)}
    report("dedupe-cut-from-store", **figures)


def test_slow_links_on_every_worker_keep_results_correct_and_latency_bounded(
    net: Net, pipe: NetPipeline
) -> None:
    """5. Every worker's link rate-limited (tbf, 600 kbit/s each way) for a run of 1,000 short articles (100
    of them copies): correct results; the end-to-end latency of each input is reported. The dedupe worker's
    link is the one that fills first: it sends ~6 KB per article to its shared store."""
    p = pipe
    p.start()
    for w in p.workers:
        net.shape(w.node, "600kbit")
    p.wait_ready()
    sent = Sent()
    send_bad(p, sent)
    t0 = time.monotonic()
    for lo in range(0, 900, 100):
        send_stories(p, sent, lo, lo + 100, per_file=10)
        send_copies(p, sent, [i for i in range(lo, lo + 100) if i % 9 == 0], per_file=10)
    p.wait(timeout_s=420)
    total = time.monotonic() - t0
    lat = sorted(p.done_at[i] - p.sent_at[i] for i in p.sent_at if i in p.done_at)
    figures = check_index(p, sent) | {
        "articles": sent.inputs(),
        "run_s": total,
        "latency_p50_s": lat[len(lat) // 2],
        "latency_p95_s": lat[int(len(lat) * 0.95)],
        "latency_max_s": lat[-1],
    }
    report("slow-links-600kbit", **figures)


def test_latency_jitter_and_resets_on_every_connection_lose_and_double_nothing(
    net: Net, tmp_path: Path
) -> None:
    """6. Every worker reaches the broker and the search server through the fault proxy in the server's
    namespace (the broker advertises it): 20 ms ± 15 ms each way on every chunk, and every 3 s one worker
    connection reset (RST both sides). netem is not in this kernel; this is the stand-in."""
    faults = ["--latency-ms", "20", "--jitter-ms", "15", "--reset-every-s", "3", "--spare", net.host_addr]
    p = make_net_pipeline(net, tmp_path, proxy_args=faults)
    assert p.proxy is not None
    try:
        p.start()
        p.wait_ready(timeout_s=240)
        sent = Sent()
        send_bad(p, sent)
        t0 = time.monotonic()
        for lo in range(0, 300, 60):
            send_stories(p, sent, lo, lo + 60, per_file=5)
            send_copies(p, sent, list(range(lo, lo + 60, 6)))
            time.sleep(2)
        p.wait(timeout_s=300)
        run = time.monotonic() - t0
        healthy = check_healthy(p)
        stats = p.proxy.stop()
        assert "resets=0" not in stats, stats
        figures = check_index(p, sent) | {
            "run_s": run,
            "healthy_s": healthy,
            "proxy": stats.replace(" ", ","),
        }
        report("latency-jitter-resets", **figures)
    finally:
        p.stop()
