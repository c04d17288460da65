"""The dedupe dev set, and how dedupe does on it: precision and recall per kind, hard negatives, events (BCubed).

    .venv/bin/python scripts/eval_dedupe.py [--data ../shared/data] [--seed 7] [--json]

The labelled set is built from openly licensed text only, the same way every run (``--seed``): the hand-checked
``articleBody`` of the extraction benchmark (181 real pages, MIT), the 24 GUM Wikinews texts (CC BY 2.5), the seeds,
and the hand-written pieces in ``tests/fixtures/dedupe_dev/`` (see its README). Nothing of ``../shared/data`` is
copied into the repository: the script rebuilds the set from it.

Positives (an article that must be recorded as a duplicate of the right original):
- ``exact``: the same body under another URL; the same canonical URL with an updated body;
- ``near``: syndicated copies: a new headline, another outlet's header/footer, a dropped paragraph, ~5% of the words
  changed;
- ``update``: the same article with a short update paragraph appended (same facts, one more line);
- ``rewrite``: seed 002 (of 001) and a hand-written paraphrase of GUM ``iodine``.
Hard negatives (different articles that share text with an earlier one: each must stay unique):
- ``followup``: a new lead (what happened next: other figures, another day, other status) over background
  paragraphs copied from the earlier report (generated for most long originals, plus two written by hand); its
  event must be its predecessor's;
- ``changed-facts``: the same text with the figures and days changed (a daily report of a market or a match
  series), and seed 002 with its days and figures changed;
- ``stock``: different articles of one outlet that end with the same stock background paragraph;
- ``template``: different articles in one outlet's header/footer template;
- ``same-event``: reports of one event by different outlets (in the extraction benchmark).

Events are scored with BCubed precision/recall/F1 over the articles whose event is known (hand-made clusters of
the benchmark; a copy, update, rewrite or follow-up belongs to its original's event; changed-facts items and
ambiguous members are not scored); predicted events are resolved through recorded merges.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.common.records import Article, Trace  # noqa: E402
from services.common.settings.dedupe import DedupeSettings  # noqa: E402
from services.common.text import clean  # noqa: E402
from services.dedupe.offline import OfflineDeduper, warm  # noqa: E402
from services.ingest.logic import article_id, parse_txt  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "dedupe_dev"
POSITIVE = ("exact", "near", "update", "rewrite")
NEGATIVE = ("followup", "changed-facts", "stock", "template", "same-event", "different")
EXPECT_KIND = {"exact": "exact", "near": "near", "update": "near", "rewrite": "rewrite"}

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


# An outlet's stock paragraphs: the same background block at the end of different stories.
STOCK = [
    "The Ledger's regional desk has covered the county since 1923. Our reporting on local government, schools "
    "and public safety is funded by subscribers and by a grant from the Community Journalism Trust, which has no "
    "say over what we publish.",
    "Background: the regional assembly was created in 1999 and has 60 members elected every four years. It sets "
    "the budget for transport, health and education and can raise a limited share of income tax in the region.",
    "Markets background: the benchmark index fell 12 percent last year, its worst performance since 2008, as "
    "higher interest rates weighed on technology and property shares and investors moved into bonds.",
    "About this series: our climate desk tracks how the region adapts to hotter summers, drier winters and "
    "rising sea levels, drawing on public data from the weather service and the national statistics office.",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
LEADS = [
    "{A} said on {day} that the deal had been completed, {n} days after talks were first reported, and that {B} "
    "would now take over the day-to-day running.",
    "{A} confirmed on {day} that {n} people had been questioned so far, while {B} declined to give further details "
    "about the next steps.",
    "{A} and {B} signed an agreement worth {n} million on {day}, ending weeks of uncertainty over the future of the "
    "project.",
    "The dispute took a new turn on {day} when {B} withdrew from the process, {A} said, citing {n} unresolved issues.",
    "A court ruled on {day} that {A} must pay {n} thousand in damages to {B}, the latest twist in a case that has "
    "dragged on for months.",
]
FOLLOW = [
    "{B} welcomed the outcome in a short statement on {day}, while critics close to {A} said it had come too late.",
    "Officials working with {B} said a full report on the {n} remaining questions would follow.",
    "{A} did not respond to a request for comment on {day}; a spokesperson for {B} said more news was expected.",
    "Analysts said the next {n} weeks would show whether {A} could keep the support of {B}.",
    "{B} is expected to publish its own account, people familiar with the matter told {A}.",
]
_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})?")
_NUM = re.compile(r"\d+")
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


@dataclass
class Item:
    article: Article
    story: str  # an original and everything made from it share it
    label: str  # "original", a positive kind, or a negative kind
    event: str | None  # gold event (None: not scored)


def names_of(body: str) -> list[str]:
    got = Counter(m.group(0) for m in _NAME.finditer(body))
    return [n for n, _ in got.most_common(4)] or ["The company", "The council"]


def followup(body: str, rng: random.Random, leads: list[str], follows: list[str]) -> str | None:
    """A follow-up: a new lead over a block of the earlier report's background paragraphs (not its lead)."""
    paras = [p for p in body.split("\n") if p.strip()]
    if len(paras) < 4:
        return None
    names = names_of(body)
    fill = {
        "A": names[0],
        "B": names[1 % len(names)],
        "day": rng.choice(WEEKDAYS),
        "n": rng.randint(3, 95),
    }
    lead = [leads.pop(rng.randrange(len(leads))).format(**fill)]
    lead += [follows.pop(rng.randrange(len(follows))).format(**fill) for _ in range(2)]
    k = max(1, round(len(paras) * rng.uniform(0.3, 0.6)))
    start = rng.randint(1, len(paras) - k)
    return "\n\n".join([" ".join(lead[:2]), lead[2], *paras[start : start + k]])


def changed_facts(body: str, rng: random.Random) -> str | None:
    """The same text with its figures and days changed: the next day's report of a series."""
    nums = _NUM.findall(body[: len(body) // 2])
    if len(nums) < 2:
        return None
    out = _NUM.sub(
        lambda m: str(int(m.group(0)) + rng.randint(1, 9)) if len(m.group(0)) < 9 else m.group(0), body
    )
    for i, d in enumerate(WEEKDAYS):
        out = out.replace(d, f"\0{i}\0")
    for i in range(7):
        out = out.replace(f"\0{i}\0", WEEKDAYS[(i + 2) % 7])
    return out if out != body else None


def update(body: str, rng: random.Random) -> str:
    who = names_of(body)[0]
    day = rng.choice(WEEKDAYS)
    return f"{body}\n\nUpdate, {day}: this story has been updated with a statement from {who}."


def build(data: Path, seed: int) -> list[Item]:
    rng = random.Random(seed)
    now = datetime(2019, 11, 20, tzinfo=UTC)
    gt = json.loads((data / "extraction-benchmark" / "ground-truth.json").read_text(encoding="utf-8"))
    bases: list[tuple[str, str, str, str, datetime | None]] = []  # (story, url, title, body, published)
    for key, v in sorted(gt.items()):
        b = v["articleBody"].strip()
        if b:
            bases.append((f"eb:{key[:10]}", v["url"], "", b, url_date(v["url"])))
    for story, title, b, date in gum_texts(data / "gum-news"):
        bases.append((story, f"https://en.wikinews.org/wiki/{story[9:]}", title, b, date))
    long_ones = [x[0] for x in bases if len(x[3].split()) >= 60]
    templated = set(rng.sample(long_ones, 30))
    stocked = {
        s: i % len(STOCK) for i, s in enumerate(rng.sample([s for s in long_ones if s not in templated], 48))
    }

    # (story, url, title, body, published, label, gold event)
    Row = tuple[str, str, str, str, datetime | None, str, str | None]
    originals: list[Row] = []
    seen_event: set[str] = set()
    for story, url, title, b, pub in bases:
        ev: str | None = story
        label = "different"
        for name, frags in EVENTS.items():
            for fr in frags:
                if fr.lstrip("?") in url:
                    ev = None if fr.startswith("?") else name
                    if ev is not None:
                        label = "same-event" if name in seen_event else "different"
                        seen_event.add(name)
        if story in templated:
            b, label = f"{TEMPLATE_HEAD}\n\n{b}\n\n{TEMPLATE_FOOT}", "template"
        elif story in stocked:
            b, label = f"{b}\n\n{STOCK[stocked[story]]}", "stock"
        originals.append((story, url, title, b, pub, label, ev))
    rng.shuffle(originals)
    seed_rows: list[Row] = []
    for f in sorted((ROOT / "seeds").glob("*.txt")):
        p = next(parse_txt(f.read_text(encoding="utf-8")))
        tag = f"seed:{f.name[:3]}"
        pub_s = p.fields.get("published_at")
        pub = datetime.fromisoformat(pub_s).replace(tzinfo=UTC) if pub_s else None
        story = "seed:001" if tag == "seed:002" else tag
        label = {"seed:002": "rewrite", "seed:001": "same-event"}.get(tag, "different")
        seed_rows.append(
            (
                story,
                f"https://seeds.example/{f.name}",
                p.fields.get("title", ""),
                p.fields["body"],
                pub,
                label,
                None if tag == "seed:003" else "seeds",
            )
        )
    seed_rows[3] = (*seed_rows[3][:6], "seed:003")
    stream: list[Row] = seed_rows[:2] + originals + seed_rows[2:]
    by_story = {r[0]: r for r in stream if r[5] != "rewrite"}

    derived: list[Row] = []
    for story, url, title, b, pub, label, ev in [r for r in stream if r[5] != "rewrite"]:
        plain = b.replace(f"{TEMPLATE_HEAD}\n\n", "").replace(f"\n\n{TEMPLATE_FOOT}", "")
        if label == "stock":
            plain = plain.rsplit("\n\n", 1)[0]
        if len(b.split()) < 30:
            continue
        for i in range(2 if rng.random() < 0.35 else 1):
            head = rng.choice(HEADERS).format(d=rng.randint(18, 20))
            copy = f"{head}\n\n{mutate(plain, rng)}\n\n{rng.choice(FOOTERS)}"
            derived.append(
                (
                    story,
                    f"https://syndicate{i}.example/{story}",
                    f"Syndicated: {title or story}",
                    copy,
                    pub,
                    "near",
                    ev,
                )
            )
        if rng.random() < 0.35:
            derived.append((story, f"https://mirror.example/{story}", title, b, pub, "exact", ev))
        if rng.random() < 0.1:
            derived.append(
                (story, url, title, b + "\n\nUpdate: this article has been updated.", pub, "exact", ev)
            )
        if rng.random() < 0.25:
            derived.append(
                (story, f"https://updated.example/{story}", title, update(b, rng), pub, "update", ev)
            )
        later = pub + timedelta(days=1) if pub else None
        # two follow-ups of one story report different things: their own leads and closing lines
        leads, follows = list(LEADS), list(FOLLOW)
        for n in range(2 if rng.random() < 0.5 else 1):
            fu = followup(plain, rng, leads, follows)
            if fu:
                derived.append((story, f"https://next{n}.example/{story}", "", fu, later, "followup", ev))
        cf = changed_facts(b, rng)
        if cf and rng.random() < 0.7:
            derived.append((story, f"https://daily.example/{story}", title, cf, later, "changed-facts", None))
    s002 = next(r for r in stream if r[5] == "rewrite")
    changed = (
        s002[3]
        .replace("Monday", "Thursday")
        .replace("Sunday", "Wednesday")
        .replace("three and a half years", "two years")
        .replace("February 24", "March 3")
    )
    derived.append(
        ("seed:001", "https://seeds.example/002-changed", s002[2], changed, None, "changed-facts", None)
    )
    for lab in json.loads((FIXTURES / "labels.json").read_text(encoding="utf-8")):
        orig = by_story[lab["of"]]
        pub = orig[4] + timedelta(days=lab["days_after"]) if orig[4] else None
        text = (FIXTURES / lab["file"]).read_text(encoding="utf-8")
        derived.append((lab["of"], f"https://dev.example/{lab['file']}", "", text, pub, lab["kind"], orig[6]))
    rng.shuffle(derived)
    stream += derived

    out: list[Item] = []
    for i, (story, url, title, b, pub, label, ev) in enumerate(stream):
        body = clean(b)
        art = Article(
            id=article_id(url, body),
            trace=Trace(ingest_id=f"eval{i:06d}", source=url),
            source=url,
            title=clean(title),
            body=body,
            url=url,
            canonical_url=url,
            published_at=pub,
            ingested_at=now + timedelta(seconds=i),
        )
        out.append(Item(art, story, label, ev))
    return out


def bcubed(pred: dict[int, str], gold: dict[int, str]) -> dict[str, float]:
    """BCubed precision/recall/F1 of a clustering over the items both know."""
    keys = [k for k in gold if k in pred]
    by_pred: dict[str, set[int]] = {}
    by_gold: dict[str, set[int]] = {}
    for k in keys:
        by_pred.setdefault(pred[k], set()).add(k)
        by_gold.setdefault(gold[k], set()).add(k)
    if not keys:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "items": 0}
    p = r = 0.0
    for k in keys:
        both = len(by_pred[pred[k]] & by_gold[gold[k]])
        p += both / len(by_pred[pred[k]])
        r += both / len(by_gold[gold[k]])
    p, r = p / len(keys), r / len(keys)
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "items": len(keys),
    }


def evaluate(items: list[Item], cfg: DedupeSettings) -> dict[str, Any]:
    deduper = OfflineDeduper(cfg)
    warm()  # the compiled loops loaded (or compiled) outside the timing
    t0, c0 = time.perf_counter(), time.process_time()
    outcomes = []
    for i in range(0, len(items), 200):
        outcomes += deduper.decide_batch([it.article for it in items[i : i + 200]])
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    story_of = {it.article.id: it.story for it in items if it.label not in POSITIVE}
    labels: Counter[str] = Counter(it.label for it in items)
    caught: Counter[str] = Counter()
    flagged_neg: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    confusion: Counter[tuple[str, str]] = Counter()
    reasons: Counter[str] = Counter()
    false_pos: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    event_of: dict[int, str] = {}
    merges = {} if "--no-merges" in sys.argv else deduper.store.merges

    def resolve(e: str) -> str:
        hops = 0
        while e in merges and hops < 100:
            e, hops = merges[e], hops + 1
        return e

    for n, (it, o) in enumerate(zip(items, outcomes, strict=True)):
        d = o.decision
        if d is None:
            missed.append({"source": it.article.source, "label": it.label, "got": "rejected"})
            continue
        if d.reason:
            reasons[d.reason] += 1
        event_of[n] = resolve(d.event_id)
        positive = it.label in POSITIVE
        right = positive and d.verdict == "duplicate" and story_of.get(d.original_id or "") == it.story
        if positive:
            if right:
                caught[it.label] += 1
                confusion[(it.label, d.kind or "")] += 1
            else:
                missed.append(
                    {
                        "source": it.article.source,
                        "label": it.label,
                        "got": d.verdict,
                        "kind": d.kind,
                        "similarity": d.similarity,
                    }
                )
        elif d.verdict == "duplicate":
            flagged_neg[it.label] += 1
        if d.verdict == "duplicate":
            assert d.kind is not None
            predicted[d.kind] += 1
            if right:
                correct[d.kind] += 1
            else:
                false_pos.append(
                    {
                        "source": it.article.source,
                        "label": it.label,
                        "kind": d.kind,
                        "similarity": d.similarity,
                        "duplicate_of": d.original_source,
                    }
                )
    flagged = sum(predicted.values())
    gold = {n: it.event for n, it in enumerate(items) if it.event is not None}
    sizes = Counter(Counter(event_of.values()).values())
    biggest = Counter(event_of.values()).most_common(3)
    follow_same = sum(
        1
        for n, it in enumerate(items)
        if it.label == "followup"
        and n in event_of
        and event_of[n] == event_of.get(next(m for m, x in enumerate(items) if x.story == it.story))
    )
    return {
        "articles": len(items),
        "seconds": round(seconds, 2),
        "cpu_ms_per_article": round(1000 * cpu / len(items), 3),
        "labels": dict(sorted(labels.items())),
        "positives": sum(labels[k] for k in POSITIVE),
        "hard_negatives": sum(labels[k] for k in NEGATIVE if k != "different"),
        "recall": {k: round(caught[k] / labels[k], 4) if labels[k] else None for k in POSITIVE},
        "precision": {
            k: round(correct[k] / predicted[k], 4) if predicted[k] else None
            for k in ("exact", "near", "rewrite")
        },
        "predicted": dict(predicted),
        "negatives_flagged": {k: f"{flagged_neg[k]}/{labels[k]}" for k in NEGATIVE},
        "flagged_that_are_different_articles": round(len(false_pos) / flagged, 4) if flagged else 0.0,
        "kind_confusion": {f"{a}->{b}": n for (a, b), n in sorted(confusion.items())},
        "exact_keys_only": dict(reasons),
        "events": {
            **bcubed(event_of, gold),
            "followups_in_predecessor_event": f"{follow_same}/{labels['followup']}",
            "size_distribution": dict(sorted(sizes.items())),
            "largest": [
                {"size": k, "gold_events": len({items[n].event for n, e in event_of.items() if e == ev})}
                for ev, k in biggest
            ],
            "merges_recorded": len(merges),
        },
        "false_positives": false_pos,
        "missed": missed,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-merges", action="store_true", help="score events without resolving merges")
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "extraction-benchmark" / "ground-truth.json").exists():
        print(f"test data not found under {data} (see shared/data/README.md)", file=sys.stderr)
        return 2
    report = evaluate(build(data, args.seed), DedupeSettings())
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    for k, v in report.items():
        if k not in ("false_positives", "missed"):
            print(f"{k}: {v}")
    for fp in report["false_positives"]:
        print("FALSE POSITIVE", fp)
    for m in report["missed"]:
        print("MISSED", m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
