"""Evaluate dedupe on real article text: precision and recall per kind, false positives, event clustering.

    .venv/bin/python scripts/eval_dedupe.py [--data ../shared/data] [--seed 7] [--json]

The stream (arrival order: every original before its copies, otherwise shuffled) is built from
- originals: the hand-checked ``articleBody`` of the extraction benchmark (181 real pages, several languages) and
  the 24 GUM Wikinews texts; 30 of them wrapped in one outlet's header/footer template (hard negatives: different
  stories sharing boilerplate), plus the seed articles;
- exact copies: the same body under another URL; URL duplicates: the same canonical URL with an updated body;
- near copies made the way syndication makes them: a new headline, another outlet's header/footer boilerplate, a
  dropped paragraph, ~5% of the words changed (substituted, dropped or inserted);
- rewrites: seed 002 (a rewrite of 001); seed 000 (another report of the same event) and 003 are negatives;
- hard negatives already in the data: the benchmark holds several reports of one event by different outlets
  (plague in China, feather-duvet lung, NASA lunar landers, ...) and same-outlet pages on one topic.

Events are scored pairwise on the originals against hand-made clusters (same event = same cluster; pairs with an
ambiguous member are not scored).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.common.records import Article, Trace  # noqa: E402
from services.common.settings.dedupe import DedupeSettings  # noqa: E402
from services.common.text import clean  # noqa: E402
from services.dedupe.offline import OfflineDeduper  # noqa: E402
from services.ingest.logic import article_id, parse_txt  # noqa: E402

HEADERS = [
    "By Staff Reporter | The Morning Ledger | Updated {d} Nov 2019, 10:42 GMT",
    "NEW YORK (Newsflow Wire) —",
    "Share this article: Facebook Twitter Email Print Comments",
    "Daily Courier staff and wire reports. Published {d} November 2019.",
    "Advertisement. Story continues below. Listen to this article (4 min).",
]
FOOTERS = [
    "This story was originally published by the Wire Service. Copyright 2019. All rights reserved. Sign up for our "
    "daily newsletter to get the latest headlines delivered to your inbox.",
    "Read more: Subscribe for unlimited access to our journalism. Follow us on Twitter and Facebook for updates.",
    "Have a news tip? Email our newsroom. This material may not be published, broadcast, rewritten or "
    "redistributed without permission.",
    "Related coverage: More from our partners. Terms of use and privacy policy apply to this site.",
]
TEMPLATE_HEAD = (
    "The Valley Gazette | Local news you can trust since 1911 | Subscribe today and save 50% on your first "
    "year of digital access. Menu Home News Sports Opinion Business Obituaries Classifieds"
)
TEMPLATE_FOOT = (
    "Copyright 2019 The Valley Gazette, a member of the Gazette Media Group. All rights reserved. "
    "This website uses cookies to improve your experience. By continuing to browse you agree to our "
    "privacy policy and terms of service. Contact the newsroom with news tips and corrections."
)
FILLER = [
    "very",
    "new",
    "officials",
    "however",
    "local",
    "several",
    "also",
    "reportedly",
    "recent",
    "major",
    "the",
    "said",
    "on",
    "more",
    "week",
    "early",
    "late",
]

# Reports of one event by different outlets in the extraction benchmark (URL fragments). "?" marks members whose
# pairs are not scored (opinion pieces or related-but-different stories).
EVENTS: dict[str, list[str]] = {
    "doobie": ["doobie-brothers-reunite", "doobie-brothers-michael-mcdonald", "doobie-brothers-to-reunite"],
    "europa": ["water-plumes-above", "europa-water-vapor", "scientists-use-hawaii-telescope"],
    "duvet": [
        "feather-duvet-lung-after",
        "livescience.com/feather-duvet",
        "brucelee/2019/11/18",
        "man-whose-duvet",
    ],
    "homedepot": ["home-depot-sales-earnings", "home-depot-stock-earnings"],
    "lunar": ["nasa-picks-spacex", "nasa-adds-five-companies", "nasas-commercial-moon-shot"],
    "omar": ["471031-new-york-man-pleads", "new-york-man-pleads-guilty-threatening"],
    "wework": [
        "attorney-general-investigating-wework",
        "attorney-general-reportedly-investigating",
        "?thousands-of-wework",
    ],
    "assange": ["world-europe-50473792", "sweden-drops-its-investigation"],
    "meth": [
        "471033-south-dakota",
        "meth-were-it-south-dakota",
        "?florida-man-exists",
        "?meth-were-on-it-spokane",
    ],
    "plague": [
        "chinese-hunter-catches-bubonic",
        "hunter-diagnosed-bubonic",
        "bubonic-plague-china-plague",
        "three-cases-plague",
    ],
    "stadia": [
        "is-stadia-good",
        "google-bets-future-launch-stadia",
        "?google-stadia-red-dead",
        "?stadia-destiny-2",
        "?google-stadia-microsoft-xcloud",
    ],
    "swift": ["newsbeat-50470672", "scooter-braun-frustrated", "?opening-bell-11-18-19"],
    "impeachment": [
        "impeachment-hearings-key-moments",
        "6486944b076b4df99a583a3a7c85574d",
        "?impeachment-sham",
        "?trump-impeachment-inquiry",
        "?republicans-elections-impeachment",
    ],
    "hongkong": ["?the-guardian-view-on-hong-kong", "?hong-kong-latest-china", "?why-beijing-will-bring"],
    "macbook": ["?future-of-apple-innovation", "?16-inch-macbook-pro-review"],
    "webb": ["We-Got-Her-Video", "michael-webb-fort-worth"],
    "autoshow": [
        "?New-SUVs-and-electric",
        "?vw-id-space-vizzion",
        "?audi-e-tron-sportback",
        "?autoindustriya",
    ],
    "jangnoksu": ["?palace-tale-jang-noksu-beauty", "?palace-tale-jang-noksu-reviews"],
    "tradewar": [
        "?trump-trade-war-china",
        "?beijing-tariff-demands",
        "?politifacts-guide-understanding-tariffs",
    ],
    "seeds": ["seed:000", "seed:001", "seed:002"],
}


@dataclass
class Item:
    article: Article
    story: str  # originals and their copies share it
    expect: str  # "unique" | "exact" | "near" | "rewrite"
    event: str | None = None  # hand-labelled event cluster
    ambiguous: bool = False


_URL_DATE = re.compile(r"/(20\d\d)[/-](\d\d)[/-](\d\d)[/-]")
_GUM_DATE = re.compile(r"^\w+, (\w+) (\d+), (\d{4})$")


def url_date(url: str) -> datetime | None:
    """The publication date many outlets put in their URLs (the benchmark has no other)."""
    m = _URL_DATE.search(url)
    if not m:
        return None
    try:
        return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
    except ValueError:
        return None


def gum_texts(folder: Path) -> list[tuple[str, str, str, datetime | None]]:
    """(story, title, body, date from the Wikinews dateline) of each GUM news text."""
    out = []
    for f in sorted(folder.glob("GUM_news_*.tsv")):
        sents = [
            ln[len("#Text=") :]
            for ln in f.read_text(encoding="utf-8").splitlines()
            if ln.startswith("#Text=")
        ]
        if len(sents) < 3:
            continue
        fix = [
            re.sub(r" ([,.;:!?%)'’])", r"\1", re.sub(r"([(“]) ", r"\1", s)).replace(" n't", "n't")
            for s in sents
        ]
        title, body = fix[0], fix[1:]
        date = None
        m = _GUM_DATE.match(body[0].replace(" ,", ","))
        if m:
            date = datetime.strptime(f"{m[1]} {m[2]} {m[3]}", "%B %d %Y").replace(tzinfo=UTC)
            body = body[1:]
        paras = [" ".join(body[i : i + 3]) for i in range(0, len(body), 3)]
        out.append((f"gum:{f.stem}", title, "\n\n".join(paras), date))
    return out


def mutate(body: str, rng: random.Random, rate: float = 0.05) -> str:
    paras = [p for p in body.split("\n") if p.strip()]
    if len(paras) >= 3:
        del paras[rng.randrange(1, len(paras))]
    out = []
    for p in paras:
        words = p.split(" ")
        new: list[str] = []
        for w in words:
            r = rng.random()
            if r < rate * 0.6:
                new.append(rng.choice(FILLER))
            elif r < rate * 0.8:
                continue
            elif r < rate:
                new.extend([w, rng.choice(FILLER)])
            else:
                new.append(w)
        out.append(" ".join(new))
    return "\n\n".join(out)


def build(data: Path, seed: int) -> list[Item]:
    rng = random.Random(seed)
    now = datetime(2019, 11, 20, tzinfo=UTC)
    gt = json.loads((data / "extraction-benchmark" / "ground-truth.json").read_text(encoding="utf-8"))
    bases: list[tuple[str, str, str, str, datetime | None]] = []  # (story, url, title, body, published)
    for key, v in sorted(gt.items()):
        body = v["articleBody"].strip()
        if body:
            bases.append((f"eb:{key[:10]}", v["url"], "", body, url_date(v["url"])))
    for story, title, body, date in gum_texts(data / "gum-news"):
        bases.append((story, f"https://en.wikinews.org/wiki/{story[9:]}", title, body, date))
    templated = set(rng.sample([b[0] for b in bases if len(b[3].split()) >= 60], 30))

    originals: list[tuple[str, str, str, str, str | None, bool, datetime | None]] = []
    for story, url, title, body, pub in bases:
        ev, amb = None, False
        for name, frags in EVENTS.items():
            for fr in frags:
                if fr.lstrip("?") in url:
                    ev, amb = name, fr.startswith("?")
        if story in templated:
            body = f"{TEMPLATE_HEAD}\n\n{body}\n\n{TEMPLATE_FOOT}"
        originals.append((story, url, title, body, ev, amb, pub))

    items: list[tuple[str, str, str, str, str, str | None, bool, datetime | None]] = []
    for story, url, title, body, ev, amb, pub in originals:
        items.append((story, url, title, body, "unique", ev, amb, pub))
    rng.shuffle(items)
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    seed_items = []
    for f in seeds:
        p = next(parse_txt(f.read_text(encoding="utf-8")))
        tag = f"seed:{f.name[:3]}"
        pub = p.fields.get("published_at")
        seed_items.append(
            (
                tag if tag != "seed:002" else "seed:001",
                f"https://seeds.example/{f.name}",
                p.fields.get("title", ""),
                p.fields["body"],
                "rewrite" if tag == "seed:002" else "unique",
                "seeds" if tag != "seed:003" else None,
                False,
                datetime.fromisoformat(pub).replace(tzinfo=UTC) if pub else None,
            )
        )
    items = seed_items[:2] + items + seed_items[2:]

    copies: list[tuple[str, str, str, str, str, str | None, bool, datetime | None]] = []
    for story, url, title, body, _ev, _amb, pub in originals:
        words = len(body.split())
        if words < 30:
            continue
        plain = body.replace(f"{TEMPLATE_HEAD}\n\n", "").replace(f"\n\n{TEMPLATE_FOOT}", "")
        n_near = 2 if rng.random() < 0.35 else 1
        for i in range(n_near):
            head = rng.choice(HEADERS).format(d=rng.randint(18, 20))
            foot = rng.choice(FOOTERS)
            copy = f"{head}\n\n{mutate(plain, rng)}\n\n{foot}"
            copies.append(
                (
                    story,
                    f"https://syndicate{i}.example/{story}",
                    f"Syndicated: {title or story}",
                    copy,
                    "near",
                    None,
                    False,
                    pub,
                )
            )
        if rng.random() < 0.35:
            copies.append((story, f"https://mirror.example/{story}", title, body, "exact", None, False, pub))
        if rng.random() < 0.1:
            copies.append(
                (
                    story,
                    url,
                    title,
                    body + "\n\nUpdate: this article has been updated.",
                    "exact",
                    None,
                    False,
                    pub,
                )
            )
    rng.shuffle(copies)
    items += copies

    out: list[Item] = []
    for i, (story, url, title, body, expect, ev, amb, pub) in enumerate(items):
        ingested = now + timedelta(seconds=i)
        b = clean(body)
        art = Article(
            id=article_id(url, b),
            trace=Trace(ingest_id=f"eval{i:06d}", source=url),
            source=url,
            title=clean(title),
            body=b,
            url=url,
            canonical_url=url,
            published_at=pub,
            ingested_at=ingested,
        )
        out.append(Item(art, story, expect, ev, amb))
    return out


def evaluate(items: list[Item], cfg: DedupeSettings) -> dict[str, object]:
    deduper = OfflineDeduper(cfg)
    t0, c0 = time.perf_counter(), time.process_time()
    outcomes = []
    for i in range(0, len(items), 200):
        outcomes += deduper.decide_batch([it.article for it in items[i : i + 200]])
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    story_of = {it.article.id: it.story for it in items}
    # Stories can legitimately repeat (the benchmark holds the same page twice): group by exact body too.
    kinds = ("exact", "near", "rewrite")
    expected: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    confusion: Counter[tuple[str, str]] = Counter()
    false_pos: list[dict[str, object]] = []
    missed: list[dict[str, object]] = []
    event_of: dict[str, str] = {}
    for it, o in zip(items, outcomes, strict=True):
        d = o.decision
        if d is None:
            missed.append({"source": it.article.source, "expect": it.expect, "got": "rejected"})
            continue
        event_of[it.article.id] = d.event_id
        right = d.verdict == "duplicate" and story_of.get(d.original_id or "") == it.story
        if it.expect != "unique":
            expected[it.expect] += 1
            if right:
                caught[it.expect] += 1
                confusion[(it.expect, d.kind or "")] += 1
            else:
                missed.append(
                    {
                        "source": it.article.source,
                        "expect": it.expect,
                        "got": d.verdict,
                        "kind": d.kind,
                        "similarity": d.similarity,
                    }
                )
        if d.verdict == "duplicate":
            assert d.kind is not None
            predicted[d.kind] += 1
            if right:
                correct[d.kind] += 1
            else:
                false_pos.append(
                    {
                        "source": it.article.source,
                        "expect": it.expect,
                        "kind": d.kind,
                        "similarity": d.similarity,
                        "duplicate_of": d.original_source,
                    }
                )
    per_kind = {
        k: {
            "expected": expected[k],
            "recall": round(caught[k] / expected[k], 4) if expected[k] else None,
            "predicted": predicted[k],
            "precision": round(correct[k] / predicted[k], 4) if predicted[k] else None,
        }
        for k in kinds
    }
    copies = sum(expected.values())
    # events, pairwise over originals
    tp = fp = fn = 0
    fp_pairs: list[tuple[str, str]] = []
    originals = [it for it in items if it.expect == "unique" or it.story.startswith("seed")]
    for i, a in enumerate(originals):
        for b in originals[i + 1 :]:
            same_pred = event_of.get(a.article.id) == event_of.get(b.article.id)
            same_true = a.event is not None and a.event == b.event
            if same_true and (a.ambiguous or b.ambiguous):
                continue
            if a.event is not None and a.event == b.event is not None and (a.ambiguous or b.ambiguous):
                continue
            if same_pred and same_true:
                tp += 1
            elif same_pred:
                fp += 1
                fp_pairs.append((a.article.source, b.article.source))
            elif same_true:
                fn += 1
    return {
        "articles": len(items),
        "seconds": round(seconds, 2),
        "ms_per_article": round(1000 * seconds / len(items), 3),
        "cpu_ms_per_article": round(1000 * cpu / len(items), 3),
        "per_kind": per_kind,
        "copies": {
            "expected": copies,
            "caught": sum(caught.values()),
            "recall": round(sum(caught.values()) / copies, 4) if copies else None,
        },
        "kind_confusion": {f"{a}->{b}": n for (a, b), n in sorted(confusion.items())},
        "false_positives": false_pos,
        "missed": missed,
        "events": {
            "pairs_true_positive": tp,
            "pairs_false_positive": fp,
            "pairs_missed": fn,
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "false_pairs": fp_pairs[:20],
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "extraction-benchmark" / "ground-truth.json").exists():
        print(f"test data not found under {data} (see shared/data/README.md)", file=sys.stderr)
        return 2
    items = build(data, args.seed)
    report = evaluate(items, DedupeSettings())
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(
        f"{report['articles']} articles in {report['seconds']} s ({report['ms_per_article']} ms/article, "
        f"{report['cpu_ms_per_article']} ms CPU)"
    )
    print(f"{'kind':8} {'expected':>8} {'recall':>7} {'predicted':>9} {'precision':>9}")
    for k, v in report["per_kind"].items():  # type: ignore[attr-defined]
        print(f"{k:8} {v['expected']:>8} {v['recall']!s:>7} {v['predicted']:>9} {v['precision']!s:>9}")
    print("copies:", report["copies"], " kinds:", report["kind_confusion"])
    print(
        "events (pairwise on originals):", {k: v for k, v in report["events"].items() if k != "false_pairs"}
    )  # type: ignore[union-attr]
    for fp in report["false_positives"]:  # type: ignore[attr-defined]
        print("FALSE POSITIVE", fp)
    for m in report["missed"]:  # type: ignore[attr-defined]
        print("MISSED", m)
    for p in report["events"]["false_pairs"]:  # type: ignore[index]
        print("EVENT FALSE PAIR", p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
