"""``newsflow dlq list|show|replay``: inspect and re-drive dead letters."""

from __future__ import annotations

import argparse
import json
from typing import Any

from services.common.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("dlq", help="inspect and re-drive dead letters")
    dsub = p.add_subparsers(dest="dlq_command", required=True)
    q = dsub.add_parser("list", help="one line per dead letter")
    q.add_argument("--stage")
    q.add_argument("--reason")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_list)
    q = dsub.add_parser("show", help="one dead letter in full (partition:offset in the dead-letter topic)")
    q.add_argument("ref", help="PARTITION:OFFSET as printed by `dlq list`")
    q.set_defaults(func=cmd_show)
    q = dsub.add_parser("replay", help="send dead letters back to the topic they came from")
    q.add_argument("--stage")
    q.add_argument("--reason")
    q.add_argument("--ref", action="append", help="only these PARTITION:OFFSET (repeatable)")
    q.set_defaults(func=cmd_replay)

    p = sub.add_parser(
        "topics",
        help="create missing topics, grow partitions (--partitions N, never shrinks), set retention from settings",
    )
    p.add_argument(
        "--partitions", type=int, help="grow every topic to N partitions (and create missing with N)"
    )
    p.set_defaults(func=cmd_topics)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from services.ops.dlq import read_dead_letters
    from services.ops.supervisor import stack_settings

    rows = read_dead_letters(stack_settings(settings), stage=args.stage, reason=args.reason)
    if args.json:
        for ref, dl in rows:
            print(
                json.dumps(
                    {
                        "ref": ref,
                        "stage": dl.stage,
                        "reason": dl.reason,
                        "detail": dl.detail,
                        "source": dl.trace.source if dl.trace else None,
                        "at": dl.at.isoformat(),
                        "origin": dl.origin.model_dump() if dl.origin else None,
                    }
                )
            )
        return 0
    for ref, dl in rows:
        print(
            f"{ref:>10}  {dl.at:%Y-%m-%d %H:%M:%S}  {dl.stage:<7} {dl.reason:<20} "
            f"{dl.trace.source if dl.trace else '-'}  {dl.detail[:80]}"
        )
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from services.ops.dlq import read_dead_letters
    from services.ops.supervisor import stack_settings

    for ref, dl in read_dead_letters(stack_settings(settings)):
        if ref == args.ref:
            print(json.dumps(dl.model_dump(mode="json"), indent=2, ensure_ascii=False))
            return 0
    print(f"no dead letter {args.ref}")
    return 1


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from services.ops.dlq import redrive
    from services.ops.supervisor import stack_settings

    sent, skipped = redrive(stack_settings(settings), stage=args.stage, reason=args.reason, refs=args.ref)
    print(json.dumps({"replayed": sent, "skipped": skipped}))
    return 0


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    from kafka.errors import KafkaError

    from services.common import logs
    from services.common.kafka import ensure_topics
    from services.ops.supervisor import stack_settings

    logs.setup(settings.log_level, log_format=settings.log_format)
    if args.partitions is not None and args.partitions < 1:
        print(json.dumps({"error": "--partitions must be at least 1"}))
        return 2
    cfg = stack_settings(settings)
    try:
        plan = ensure_topics(cfg.kafka, args.partitions)
    except KafkaError as exc:
        # Tansu (the embedded broker) has no CreatePartitions: IncompatibleBrokerVersion.
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps({"created": plan.create, "grown": plan.grow, "unchanged": plan.keep}))
    return 0
