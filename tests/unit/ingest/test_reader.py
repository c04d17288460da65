"""The one file reader: nothing outside the directory given is read, non-regular files are refused at once,
and every offline command reports a file it cannot read the same way (stderr line, rejection, exit 1)."""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.records import Article, InboxItem, Rejected
from services.common.settings import Settings
from services.common.settings.ingest import IngestSettings
from services.ingest.reader import FileInput, Refusals, read_articles, read_inputs, read_items
from services.ingest.sources.files import FileSource, walk

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "root:x:0:0:the-secret-line-nobody-should-index"
STORY = "The harbour bridge reopened on Monday after two years of repairs, the city council said."
CFG = IngestSettings()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the ingested folder (stands for /etc/passwd)."""
    secret = tmp_path / "outside" / "passwd.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    return secret


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    (d / "story.txt").write_text(STORY)
    return d


def inputs(paths: list[Path], cfg: IngestSettings = CFG) -> tuple[list[FileInput | Rejected], Refusals]:
    refusals = Refusals()
    return list(read_inputs(paths, cfg, refusals)), refusals


def reasons(got: list[FileInput | Rejected]) -> dict[str, str]:
    return {
        Path(g.trace.source if isinstance(g, Rejected) and g.trace else g.source).name: (  # type: ignore[union-attr]
            g.reason if isinstance(g, Rejected) else "ok"
        )
        for g in got
    }


def test_a_symlink_out_of_the_directory_is_refused_and_never_read(folder: Path, outside: Path) -> None:
    (folder / "evil.txt").symlink_to(outside)
    (folder / "evil-dir").symlink_to(outside.parent)
    for follow in (False, True):
        got, refusals = inputs([folder], IngestSettings(follow_symlinks=follow))
        assert reasons(got) == {
            "evil-dir": "outside-directory",
            "evil.txt": "outside-directory",
            "story.txt": "ok",
        }
        assert all(SECRET not in g.data.decode() for g in got if isinstance(g, FileInput))
        assert len(refusals) == 2


def test_symlinks_inside_the_directory_are_followed_only_when_the_setting_says_so(folder: Path) -> None:
    sub = folder / "sub"
    sub.mkdir()
    (sub / "other.txt").write_text(STORY + " Again.")
    (folder / "alias.txt").symlink_to(folder / "story.txt")
    (folder / "linked").symlink_to(sub)
    off, _ = inputs([folder])
    assert reasons(off) == {"alias.txt": "symlink", "linked": "symlink", "other.txt": "ok", "story.txt": "ok"}
    on, refusals = inputs([folder], IngestSettings(follow_symlinks=True))
    assert sorted(Path(g.source).relative_to(folder).as_posix() for g in on if isinstance(g, FileInput)) == [
        "alias.txt",
        "linked/other.txt",  # sub/ is reached first through the link, and walked once
        "story.txt",
    ]
    assert len(refusals) == 0


def test_a_directory_loop_is_walked_once_and_refused_with_a_reason(folder: Path) -> None:
    (folder / "again").symlink_to(folder)
    got, _ = inputs([folder], IngestSettings(follow_symlinks=True))
    assert reasons(got) == {"again": "directory-loop", "story.txt": "ok"}
    (folder / "self").symlink_to(folder / "self")  # a link to itself given by name: ELOOP
    (explicit,), _ = inputs([folder / "self"])
    assert isinstance(explicit, Rejected) and explicit.reason == "not-a-file"


def test_a_fifo_is_refused_at_once_whether_given_by_name_or_found_in_a_directory(folder: Path) -> None:
    fifo = folder / "pipe.txt"
    os.mkfifo(fifo)
    done: list[list[FileInput | Rejected]] = []
    t = threading.Thread(target=lambda: done.append(inputs([fifo, folder])[0]), daemon=True)
    t.start()
    t.join(30)  # generous: a blocking read would never return; no timing is asserted
    assert done, "reading a FIFO blocked"
    named, *walked = done[0]
    assert isinstance(named, Rejected) and named.reason == "not-a-file" and "FIFO" in named.detail
    assert reasons(walked) == {"pipe.txt": "not-a-file", "story.txt": "ok"}


def test_devices_sockets_and_directories_given_by_name_are_refused(tmp_path: Path) -> None:
    sock_path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        got, refusals = inputs([Path("/dev/null"), Path("/dev/zero"), sock_path])
    finally:
        sock.close()
    assert [(g.reason, g.detail.split(": ", 1)[1]) for g in got if isinstance(g, Rejected)] == [
        ("not-a-file", "a device, not a regular file"),
        ("not-a-file", "a device, not a regular file"),
        ("not-a-file", "a socket, not a regular file"),
    ]
    assert len(refusals) == 3


def test_missing_and_oversized_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 3000)
    cfg = IngestSettings(max_article_bytes=1024, max_html_bytes=1024)
    got, _ = inputs([tmp_path / "missing.txt", big], cfg)
    assert [(g.reason, str(g.trace.source)) for g in got if isinstance(g, Rejected) and g.trace] == [
        ("unreadable", str(tmp_path / "missing.txt")),
        ("too-large", str(big)),
    ]
    assert all(str(tmp_path) in g.detail for g in got if isinstance(g, Rejected))


def test_every_refusal_is_one_stderr_line_naming_the_file_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    list(read_inputs([tmp_path / "gone.txt"], CFG))
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"newsflow: refused {tmp_path / 'gone.txt'}: unreadable (")


def test_read_articles_parses_like_the_worker_and_orders_ingest_ids_by_position(folder: Path) -> None:
    (folder / "two.jsonl").write_text(
        json.dumps({"body": STORY + " One."}) + "\n" + json.dumps({"x": 1}) + "\n"
    )
    got = list(read_articles([folder / "missing.txt", folder], CFG, NOW, id_prefix="t"))
    assert [(type(g).__name__, g.trace.ingest_id if g.trace else None) for g in got] == [
        ("Rejected", "t00000000"),  # missing.txt
        ("Article", "t00000001"),  # story.txt
        ("Article", "t00000002"),  # two.jsonl, first record
        ("Rejected", "t00000002"),  # two.jsonl, second record: no body
    ]
    assert isinstance(got[1], Article) and got[1].trace.source.endswith("story.txt")


def test_read_items_and_the_file_source_refuse_the_same_files(folder: Path, outside: Path) -> None:
    (folder / "evil.txt").symlink_to(outside)
    items = list(read_items([folder], CFG, Refusals()))
    via_source = list(FileSource([folder], 10**7).iter_items())
    for got in (items, via_source):
        assert [type(x).__name__ for x in got] == ["Rejected", "InboxItem"]
        assert isinstance(got[0], Rejected) and got[0].reason == "outside-directory"
        assert isinstance(got[1], InboxItem)
    assert [e.source for e in walk([folder])] == [str(folder / "evil.txt"), str(folder / "story.txt")]


def run_command(register_module: str, argv: list[str]) -> int:
    import importlib

    mod = importlib.import_module(register_module)
    parser = argparse.ArgumentParser()
    mod.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args, Settings()))


@pytest.fixture
def with_fifo(folder: Path) -> Iterator[Path]:
    os.mkfifo(folder / "pipe.txt")
    yield folder


def test_offline_dedupe_reports_a_refused_file_goes_on_and_exits_1(
    with_fifo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_command("services.dedupe.cli", ["dedupe", str(with_fifo)])
    out = capsys.readouterr()
    lines = [json.loads(x) for x in out.out.splitlines()]
    assert code == 1
    assert [(Path(x["source"]).name, x["verdict"]) for x in lines] == [
        ("pipe.txt", "rejected"),
        ("story.txt", "unique"),
    ]
    assert lines[0]["reason"] == "not-a-file"
    assert f"newsflow: refused {with_fifo / 'pipe.txt'}: not-a-file" in out.err
    assert "1 input file(s) refused" in out.err


def test_offline_extract_and_ner_inputs_report_a_refused_file_the_same_way(
    with_fifo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.enrich.cli import _texts

    os.mkfifo(with_fifo / "page.html")
    assert run_command("services.ingest.cli", ["extract", "--json", str(with_fifo)]) == 1
    out = capsys.readouterr()
    (line,) = [json.loads(x) for x in out.out.splitlines()]
    assert line["error"] == "not-a-file" and f"refused {with_fifo / 'page.html'}: not-a-file" in out.err
    refusals = Refusals()
    texts = _texts([str(with_fifo)], False, Settings(), refusals)
    assert [(Path(s).name, lang) for s, lang, _ in texts] == [
        ("page.html", "error:not-a-file"),
        ("pipe.txt", "error:not-a-file"),
        ("story.txt", "en"),
    ]
    assert len(refusals) == 2


def test_odd_file_names_are_read_and_named_in_serializable_text(tmp_path: Path) -> None:
    raw_name = os.fsdecode(b"caf\xe9-latin1-name.txt")  # not UTF-8: the OS hands Python a surrogate
    (tmp_path / raw_name).write_text(STORY)
    (tmp_path / "new\nline.txt").write_text(STORY + " Again.")
    items = list(read_items([tmp_path, tmp_path / raw_name], CFG, Refusals()))
    assert [type(i).__name__ for i in items] == ["InboxItem"] * 3
    assert all(i.to_json() for i in items)  # a surrogate in a source name would not serialize
    assert [Path(i.source).name for i in items if isinstance(i, InboxItem)] == [
        "caf\\xe9-latin1-name.txt",
        "new\nline.txt",
        "caf\\xe9-latin1-name.txt",
    ]
