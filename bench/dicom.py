"""The DICOM door against Orthanc: same data, same clients, same run (DOMAIN.md §8).

Parts (LYSBORD_BENCH_DICOM_PARTS=ingest,find,worklist):

* ingest: 2,000 CT images (512×512, 16-bit) by DCMTK storescu, one association and
  four in parallel, each into a fresh server; rounds alternate the order of the servers
  and the medians are compared. Target: Lysbord ≥ Orthanc.
* find: 100,000 small instances (2,000 studies) in each server, then 200 study-level
  C-FINDs on one pynetdicom association per server, interleaved in blocks so that
  the machine's load falls on every server alike. Target: Lysbord ≤ Orthanc.
* worklist: a year of bookings in the busiest CT room of the demo region, then 200
  Modality Worklist queries for one room-day by findscu. Lysbord only. Target < 50 ms.

Servers' CPU per operation (their process group, from /proc) is reported beside the
rates: under load it is the steadier comparison.

Lysbord runs as a user runs it (``lysbord serve``, one process group per server), on
SQLite and PostgreSQL (LYSBORD_BENCH_BACKENDS). LYSBORD_BENCH_QUICK=1 shrinks everything
to a few minutes; figures are only meaningful on a quiet machine (see the load rows).
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

from rich.progress import Progress

from bench import dicomdata as data
from bench.common import BACKENDS, Row, console, percentile
from bench.orthanc import (
    Peer,
    lysbord,
    lysbord_cli,
    lysbord_database,
    lysbord_env,
    orthanc,
    temp_folder,
)

SUITE = "dicom"
QUICK = os.environ.get("LYSBORD_BENCH_QUICK") == "1"
PARTS = os.environ.get("LYSBORD_BENCH_DICOM_PARTS", "ingest,find,worklist").split(",")
ROUNDS = int(os.environ.get("LYSBORD_BENCH_DICOM_ROUNDS", "1" if QUICK else "3"))
CT_STUDIES, CT_PER_STUDY = (4, 50) if QUICK else (20, 100)
BULK_STUDIES, BULK_PER_STUDY = (100, 50) if QUICK else (2000, 50)
QUERIES, FINDSCU, BLOCK = 200, 20, 10


def run() -> list[Row]:
    rows = [_load_row("at start")]
    for part, measure in (("ingest", ingest), ("find", find), ("worklist", worklist)):
        if part in PARTS:
            rows += measure()
    return [*rows, _load_row("at end")]


def _load_row(when: str) -> Row:
    one, five, fifteen = os.getloadavg()
    return Row(SUITE, "-", f"machine load {when} (1/5/15 min, {os.cpu_count()} cores)",
               f"{one:.1f} / {five:.1f} / {fifteen:.1f}")  # fmt: skip


@contextmanager
def server(target: str) -> Iterator[Peer]:
    """A fresh, empty server: ``orthanc`` or Lysbord on the named backend."""
    if target == "orthanc":
        with orthanc() as peer:
            yield peer
    else:
        with lysbord_database(target) as (folder, url), lysbord(folder, url, target) as peer:
            yield peer


def group_cpu(peer: Peer) -> float:
    """CPU seconds (user + system) used so far by the live processes of the server's group.

    On a loaded machine wall-clock rates say more about the neighbours than about the
    servers; their CPU per operation does not.
    """
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # not a process, or gone meanwhile
        if int(fields[2]) == peer.pid:  # the process group
            total += int(fields[11]) + int(fields[12])
    return total / tick


def compared(backend: str, measure: str, mine: float, theirs: float, unit: str,
             *, higher_is_better: bool, verdict: bool = True) -> Row:  # fmt: skip
    """One row: Lysbord's value, Orthanc's, the ratio Lysbord/Orthanc and the verdict."""
    ratio = mine / theirs if theirs else float("inf")
    good = ratio >= 1 if higher_is_better else ratio <= 1
    return Row(
        SUITE,
        backend,
        measure,
        f"{mine:,.1f} vs Orthanc {theirs:,.1f} {unit} ({ratio:.2f}×)",
        ("≥ Orthanc" if higher_is_better else "≤ Orthanc") if verdict else "",
        ("ok" if good else "MISSED") if verdict else "",
    )


# -- ingest -------------------------------------------------------------------------------


def ingest() -> list[Row]:
    n = CT_STUDIES * CT_PER_STUDY
    console.rule(f"dicom ingest: {n} CT images, {ROUNDS} round(s), 1 and 4 associations")
    with temp_folder("lysbord-bench-ct-") as root:
        corpus = data.make_corpus(root, studies=CT_STUDIES, per_study=CT_PER_STUDY, size=512,
                                  parts=4, patients=CT_STUDIES)  # fmt: skip
        seconds: dict[tuple[str, int], list[float]] = defaultdict(list)
        cpu: dict[tuple[str, int], list[float]] = defaultdict(list)
        stored: dict[str, list[int]] = defaultdict(list)
        targets = ["orthanc", *BACKENDS]
        for r in range(ROUNDS):
            for assoc in (1, 4):
                for target in targets if (r + assoc) % 2 else targets[::-1]:
                    with server(target) as peer:
                        folders = [root] if assoc == 1 else corpus.parts
                        before = group_cpu(peer)
                        seconds[target, assoc].append(data.send(peer, folders))
                        cpu[target, assoc].append((group_cpu(peer) - before) * 1000 / n)
                        stored[target].append(peer.count_instances())
                    rate = n / seconds[target, assoc][-1]
                    console.print(f"round {r + 1}, {assoc} assoc., {target}: {rate:.0f}/s")
    return _ingest_rows(corpus, seconds, cpu, stored)


def _ingest_rows(corpus: data.Corpus, seconds: dict[tuple[str, int], list[float]],
                 cpu: dict[tuple[str, int], list[float]], stored: dict[str, list[int]]
                 ) -> list[Row]:  # fmt: skip
    n, mb = corpus.instances, corpus.bytes / 1e6
    rows = []
    for backend in BACKENDS:
        for assoc in (1, 4):
            mine = statistics.median(seconds[backend, assoc])
            theirs = statistics.median(seconds["orthanc", assoc])
            what = f"C-STORE {n:,} CT, {assoc} storescu, median of {ROUNDS}"
            rows += [
                compared(backend, f"{what}: instances/s", n / mine, n / theirs, "/s",
                         higher_is_better=True),
                compared(backend, f"{what}: MB/s", mb / mine, mb / theirs, "MB/s",
                         higher_is_better=True, verdict=False),
                # the server's processes only (PostgreSQL's own backends are not in them)
                compared(backend, f"{what}: server CPU per instance",
                         statistics.median(cpu[backend, assoc]),
                         statistics.median(cpu["orthanc", assoc]), "ms",
                         higher_is_better=False, verdict=False),
            ]  # fmt: skip
        rows.append(_stored_row(backend, stored[backend], stored["orthanc"], n))
    return rows


def _stored_row(backend: str, mine: list[int], theirs: list[int], sent: int) -> Row:
    ok = all(c == sent for c in mine + theirs)
    return Row(SUITE, backend, "instances stored after each run (Lysbord, Orthanc)",
               f"{sorted(set(mine))}, {sorted(set(theirs))} of {sent:,}", f"{sent:,}",
               "ok" if ok else "MISSED")  # fmt: skip


# -- study C-FIND ------------------------------------------------------------------------


def find() -> list[Row]:
    n = BULK_STUDIES * BULK_PER_STUDY
    console.rule(f"dicom find: {n:,} instances indexed in each server, {QUERIES} C-FINDs")
    with temp_folder("lysbord-bench-bulk-") as root, ExitStack() as stack:
        corpus = data.make_corpus(
            root,
            studies=BULK_STUDIES,
            per_study=BULK_PER_STUDY,
            size=16,
            parts=max(4, BULK_STUDIES // 50),
            patients=BULK_STUDIES // 2,
        )
        peers: dict[str, Peer] = {}
        rates: dict[str, float] = {}
        for target in ["orthanc", *BACKENDS]:
            peers[target] = stack.enter_context(server(target))
            rates[target] = bulk_load(peers[target], corpus)
        queries = plan_queries(corpus)
        timings, answers = interleaved(peers, queries)
        script = {t: findscu_seconds(p, queries[:FINDSCU]) for t, p in peers.items()}
    return _find_rows(queries, timings, answers, rates, script, n)


def bulk_load(peer: Peer, corpus: data.Corpus) -> float:
    """Four storescu at a time over the corpus' parts, with a progress bar; instances/s."""
    per_part = corpus.instances // len(corpus.parts)
    with Progress(console=console) as progress, ThreadPoolExecutor(4) as pool:
        task = progress.add_task(f"loading {peer.name}", total=corpus.instances)

        def one(folder: Path) -> float:
            seconds = data.send(peer, [folder])
            progress.advance(task, per_part)
            return seconds

        start = time.perf_counter()
        try:
            list(pool.map(one, corpus.parts))
        except BaseException:
            data.stop_senders()  # or the pool would wait for every running storescu
            raise
        rate = corpus.instances / (time.perf_counter() - start)
    count = peer.count_instances()
    if count != corpus.instances:
        raise RuntimeError(f"{peer.name} holds {count} instances, {corpus.instances} were sent")
    return rate


Query = tuple[str, dict[str, str]]


def plan_queries(corpus: data.Corpus) -> list[Query]:
    """Half by PatientID, half by a week of StudyDate; alternating, the same for all."""
    rng = random.Random(3)
    out: list[Query] = []
    for i in range(QUERIES):
        if i % 2 == 0:
            out.append(("PatientID", {"PatientID": rng.choice(corpus.patients)}))
        else:
            first = datetime.strptime(rng.choice(corpus.dates), "%Y%m%d")
            last = first + timedelta(days=6)
            out.append(("StudyDate week", {"StudyDate": f"{first:%Y%m%d}-{last:%Y%m%d}"}))
    return out


def interleaved(peers: dict[str, Peer], queries: list[Query]
                ) -> tuple[dict[str, list[float]], dict[str, list[int]]]:  # fmt: skip
    """Blocks of queries per server in turn; returns milliseconds and match counts."""
    ms: dict[str, list[float]] = defaultdict(list)
    found: dict[str, list[int]] = defaultdict(list)
    with ExitStack() as stack:
        clients = {t: stack.enter_context(data.find_client(p)) for t, p in peers.items()}
        for client in clients.values():  # warm-up, not timed
            for _, keys in queries[:5]:
                client.find(data.study_query(**keys))
        order = list(clients)
        for b, start in enumerate(range(0, len(queries), BLOCK)):
            for target in order if b % 2 == 0 else order[::-1]:
                for _, keys in queries[start : start + BLOCK]:
                    matches, took = clients[target].find(data.study_query(**keys))
                    ms[target].append(took)
                    found[target].append(matches)
    return ms, found


def findscu_seconds(peer: Peer, queries: list[Query]) -> float:
    start = time.perf_counter()
    for _, keys in queries:
        data.findscu(peer, keys)
    return time.perf_counter() - start


def _find_rows(queries: list[Query], ms: dict[str, list[float]], found: dict[str, list[int]],
               rates: dict[str, float], script: dict[str, float], n: int) -> list[Row]:  # fmt: skip
    rows = []
    kinds = sorted({kind for kind, _ in queries})
    for backend in BACKENDS:
        for kind in kinds:
            pick = _picker(queries, kind)
            mine, theirs = pick(ms[backend]), pick(ms["orthanc"])
            what = f"study C-FIND by {kind}, {n:,} instances"
            rows += [
                compared(backend, f"{what}: median", statistics.median(mine),
                         statistics.median(theirs), "ms", higher_is_better=False),
                compared(backend, f"{what}: p95", percentile(mine, 95), percentile(theirs, 95),
                         "ms", higher_is_better=False, verdict=False),
            ]  # fmt: skip
        agree = sum(a == b for a, b in zip(found[backend], found["orthanc"], strict=True))
        rows += [
            Row(SUITE, backend, "C-FIND answers: same number of matches as Orthanc",
                f"{agree}/{len(queries)} (mean {statistics.mean(found[backend]):.1f} matches)",
                f"{len(queries)}", "ok" if agree == len(queries) else "MISSED"),
            compared(backend, f"findscu × {FINDSCU} (a process each), end to end", script[backend],
                     script["orthanc"], "s", higher_is_better=False, verdict=False),
            compared(backend, f"bulk load {n:,} small instances, 4 storescu", rates[backend],
                     rates["orthanc"], "/s", higher_is_better=True, verdict=False),
        ]  # fmt: skip
    return rows


def _picker(queries: list[Query], kind: str) -> Callable[[list[float]], list[float]]:
    return lambda values: [v for (k, _), v in zip(queries, values, strict=True) if k == kind]


# -- Modality Worklist --------------------------------------------------------------------

STATION = os.environ.get("LYSBORD_BENCH_WORKLIST_ROOM", "RHCT1")  # 07-21, the longest CT day
DAYS = int(os.environ.get("LYSBORD_BENCH_WORKLIST_DAYS", "20" if QUICK else "365"))
DEMO_SCALE = os.environ.get("LYSBORD_BENCH_DEMO_SCALE", "0.05" if QUICK else "1.0")
NO_PEER = "(Orthanc: no worklist of bookings to compare)"


def worklist() -> list[Row]:
    rows = []
    for backend in BACKENDS:
        console.rule(f"dicom worklist on {backend}: demo region, then {DAYS} days of {STATION}")
        with lysbord_database(backend) as (folder, url):
            cmd = lysbord_cli("demo", folder=folder, url=url) + ["--scale", DEMO_SCALE]
            subprocess.run(cmd, env=lysbord_env(), check=True)
            start = time.perf_counter()
            sizes = data.book_room(folder, url, STATION, DAYS)
            booked_in = time.perf_counter() - start
            if not sizes:
                raise RuntimeError(f"no bookings in {STATION}: is it a room of the demo?")
            with lysbord(folder, url, backend) as peer:
                days = random.Random(9).choices(sorted(sizes), k=QUERIES)
                ms, found, server_ms = _worklist_queries(peer, days)
        rows += _worklist_rows(backend, days, sizes, ms, found, booked_in, server_ms)
    return rows


def _worklist_queries(peer: Peer, days: list[date]) -> tuple[list[float], list[int], float]:
    """Milliseconds and matches per findscu query, and the server's CPU ms per query.

    DCMTK's findscu is the client (the issue's clients are DCMTK tools): a process and an
    association each, as a script or a scanner's morning query would run it. Its time
    includes its own start-up; the server's share is the CPU row.
    """
    ms, found = [], []
    for day in days[:5]:  # warm-up, not timed
        data.worklist_findscu(peer, STATION, day.strftime("%Y%m%d"))
    cpu = group_cpu(peer)
    for day in days:
        matches, took = data.worklist_findscu(peer, STATION, day.strftime("%Y%m%d"))
        ms.append(took)
        found.append(matches)
    return ms, found, (group_cpu(peer) - cpu) * 1000 / len(days)


def _worklist_rows(backend: str, days: list[date], sizes: dict[date, int], ms: list[float],
                   found: list[int], booked_in: float, server_ms: float) -> list[Row]:  # fmt: skip
    median = statistics.median(ms)
    right = sum(sizes[d] == n for d, n in zip(days, found, strict=True))
    what = f"MWL C-FIND by findscu, {STATION} one day ({statistics.mean(found):.0f} items)"
    return [
        Row(SUITE, backend, f"{what}: median", f"{median:.2f} ms {NO_PEER}", "< 50 ms",
            "ok" if median < 50 else "MISSED"),
        Row(SUITE, backend, f"{what}: p95", f"{percentile(ms, 95):.2f} ms"),
        Row(SUITE, backend, "MWL: Lysbord's CPU per query (association included, mean)",
            f"{server_ms:.1f} ms"),
        Row(SUITE, backend, f"{STATION}: booked days in the next {DAYS}, items",
            f"{len(sizes)} days, {sum(sizes.values()):,} items (booked in {booked_in:.0f} s)"),
        Row(SUITE, backend, "MWL answers: as many items as the service finds",
            f"{right}/{len(days)}", f"{len(days)}", "ok" if right == len(days) else "MISSED"),
    ]  # fmt: skip
