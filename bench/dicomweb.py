"""DICOMweb against Orthanc with its DICOMweb plugin: same data, same client, same run.

Parts (LYSBORD_BENCH_DICOMWEB_PARTS=stow,qido,wado):

* stow: 2,000 CT images (512×512, 16-bit) by STOW-RS, one request per study of 100
  images, from one client and from four at once, each into a fresh server. Target:
  Lysbord ≥ Orthanc in instances/s.
* qido: 100,000 small instances (2,000 studies) loaded by storescu (``bench.dicom``'s
  corpus and loader), then 200 study searches as a viewer's study list asks them (by
  PatientID, by a week of StudyDate; ``limit=101``), on one keep-alive connection per
  server, interleaved in blocks. Target: Lysbord ≤ Orthanc median.
* wado: a 500-image CT study retrieved whole (multipart/related application/dicom,
  ``transfer-syntax=*``) after one untimed warm-up retrieval per server. Target:
  Lysbord ≥ Orthanc in MB/s. The client is curl, writing to /dev/null and timing
  itself (``time_total``): a client that reads the body in Python (httpx, about
  200 MB/s here, decoding chunks in h11) was the bottleneck and measured itself,
  while both servers serve 0.7–1 GB/s on loopback. curl costs a fraction of the
  servers' CPU per MB, so the figure is the server's.

The rendered-frame latency is the ``dicomweb_render`` suite (``bench/dicomweb_render.py``).

Lysbord runs as ``lysbord serve`` on every LYSBORD_BENCH_BACKENDS backend.
LYSBORD_BENCH_QUICK=1 shrinks everything to a few minutes.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

import httpx2 as httpx

from bench import dicomdata as data
from bench.common import BACKENDS, Row, console, percentile
from bench.dicom import bulk_load, compared, plan_queries
from bench.orthanc import Peer, lysbord, lysbord_database, orthanc, temp_folder

SUITE = "dicomweb"
QUICK = os.environ.get("LYSBORD_BENCH_QUICK") == "1"
PARTS = os.environ.get("LYSBORD_BENCH_DICOMWEB_PARTS", "stow,qido,wado").split(",")
ROUNDS = int(os.environ.get("LYSBORD_BENCH_DICOMWEB_ROUNDS", "1" if QUICK else "3"))
STOW_STUDIES, STOW_PER_STUDY = (2, 50) if QUICK else (20, 100)
BULK_STUDIES, BULK_PER_STUDY = (100, 50) if QUICK else (2000, 50)
WADO_INSTANCES = 100 if QUICK else 500
QUERIES, BLOCK = 200, 10
BOUNDARY = "lysbord-bench-boundary"
STOW_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
STOW_HEADERS = {"Content-Type": STOW_TYPE, "Accept": "application/dicom+json"}
DICOM_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'
TIMEOUT = httpx.Timeout(600.0)
#: Latency statistics shown per kind of search; only the median carries a verdict.
STATS: tuple[tuple[str, Callable[[list[float]], float], bool], ...] = (
    ("median", statistics.median, True),
    ("p95", lambda values: percentile(values, 95), False),
)


def run() -> list[Row]:
    rows: list[Row] = []
    for part, measure in (("stow", stow), ("qido", qido), ("wado", wado)):
        if part in PARTS:
            rows += measure()
    return rows


def root(peer: Peer) -> str:
    """The DICOMweb root of a server under test (Orthanc's plugin is configured alike)."""
    return f"http://{peer.host}:{peer.http_port}/dicomweb"


@contextmanager
def web_server(target: str) -> Iterator[Peer]:
    """A fresh, empty server with DICOMweb: ``orthanc`` (plugin on) or Lysbord on a backend."""
    if target == "orthanc":
        with orthanc(dicomweb=True) as peer:
            yield peer
    else:
        with lysbord_database(target) as (folder, url), lysbord(folder, url, target) as peer:
            yield peer


# -- STOW-RS -----------------------------------------------------------------------------


def stow() -> list[Row]:
    n = STOW_STUDIES * STOW_PER_STUDY
    console.rule(f"dicomweb stow: {n} CT images, {ROUNDS} round(s), 1 and 4 clients")
    with temp_folder("lysbord-bench-stow-") as folder:
        corpus = data.make_corpus(folder, studies=STOW_STUDIES, per_study=STOW_PER_STUDY,
                                  size=512, parts=1, patients=STOW_STUDIES)  # fmt: skip
        bodies = [_stow_body(study) for study in sorted(corpus.parts[0].iterdir())]
        seconds: dict[tuple[str, int], list[float]] = defaultdict(list)
        targets = ["orthanc", *BACKENDS]
        for r in range(ROUNDS):
            for clients in (1, 4):
                for target in targets if (r + clients) % 2 else targets[::-1]:
                    with web_server(target) as peer:
                        seconds[target, clients].append(_post_all(peer, bodies, clients))
                        if peer.count_instances() != n:
                            raise RuntimeError(f"{peer.name} holds {peer.count_instances()} of {n}")
                    rate = n / seconds[target, clients][-1]
                    console.print(f"round {r + 1}, {clients} client(s), {target}: {rate:.0f}/s")
    return _stow_rows(n, corpus.bytes / 1e6, seconds)


def _stow_body(study: Path) -> bytes:
    parts = [
        f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + f.read_bytes()
        for f in sorted(study.iterdir())
    ]
    return b"\r\n".join(parts) + f"\r\n--{BOUNDARY}--\r\n".encode()


def _post_all(peer: Peer, bodies: list[bytes], clients: int) -> float:
    """POST every body (one study each) from ``clients`` connections; seconds in all."""
    url = f"{root(peer)}/studies"

    def send(share: list[bytes]) -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            for body in share:
                response = client.post(url, content=body, headers=STOW_HEADERS)
                if response.status_code != 200:
                    raise RuntimeError(f"STOW-RS to {peer.name}: {response.status_code} "
                                       f"{response.text[:300]}")  # fmt: skip

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, [bodies[i::clients] for i in range(clients)]))
    return time.perf_counter() - start


def _stow_rows(n: int, mb: float, seconds: dict[tuple[str, int], list[float]]) -> list[Row]:
    """Instances/s (with the verdict) and MB/s, per backend and number of clients."""
    rows = []
    for (target, clients), took in seconds.items():
        if target == "orthanc":
            continue
        mine, theirs = statistics.median(took), statistics.median(seconds["orthanc", clients])
        what = f"STOW-RS {n:,} CT, {clients} client(s), median of {ROUNDS}"
        for label, unit, size, verdict in (("instances/s", "/s", n, True),
                                           ("MB/s", "MB/s", mb, False)):  # fmt: skip
            rows.append(compared(target, f"{what}: {label}", size / mine, size / theirs,
                                 unit, higher_is_better=True, verdict=verdict))  # fmt: skip
    return [_suite(r) for r in rows]


def _suite(row: Row) -> Row:
    """``bench.dicom.compared`` names its own suite; these rows are DICOMweb's."""
    return replace(row, suite=SUITE)


# -- QIDO-RS ----------------------------------------------------------------------------


def qido() -> list[Row]:
    n = BULK_STUDIES * BULK_PER_STUDY
    console.rule(f"dicomweb qido: {n:,} instances indexed in each server, {QUERIES} searches")
    with temp_folder("lysbord-bench-qido-") as folder, ExitStack() as stack:
        corpus = data.make_corpus(folder, studies=BULK_STUDIES, per_study=BULK_PER_STUDY,
                                  size=16, parts=max(4, BULK_STUDIES // 50),
                                  patients=BULK_STUDIES // 2)  # fmt: skip
        peers = {t: stack.enter_context(web_server(t)) for t in ["orthanc", *BACKENDS]}
        for peer in peers.values():
            bulk_load(peer, corpus)
        queries = plan_queries(corpus)
        ms, found = _searches(peers, queries)
    rows = []
    for backend in BACKENDS:
        for kind in sorted({k for k, _ in queries}):
            pick = _picker(queries, kind)
            mine, theirs = pick(ms[backend]), pick(ms["orthanc"])
            what = f"QIDO-RS study search by {kind}, {n:,} instances"
            for stat, of, verdict in STATS:
                rows.append(compared(backend, f"{what}: {stat}", of(mine), of(theirs), "ms",
                                     higher_is_better=False, verdict=verdict))  # fmt: skip
        agree = sum(a == b for a, b in zip(found[backend], found["orthanc"], strict=True))
        rows.append(Row(SUITE, backend, "QIDO-RS answers: as many studies as Orthanc",
                        f"{agree}/{len(queries)}", f"{len(queries)}",
                        "ok" if agree == len(queries) else "MISSED"))  # fmt: skip
    return [_suite(r) for r in rows]


def _searches(peers: dict[str, Peer], queries: list[tuple[str, dict[str, str]]]
              ) -> tuple[dict[str, list[float]], dict[str, list[int]]]:  # fmt: skip
    """Blocks of searches per server in turn: milliseconds and number of studies found."""
    ms: dict[str, list[float]] = defaultdict(list)
    found: dict[str, list[int]] = defaultdict(list)
    order = list(peers)
    schedule = [
        (order[t] if i % 2 == 0 else order[::-1][t], q)
        for i, b in enumerate(range(0, len(queries), BLOCK))
        for t in range(len(order))
        for q in range(b, min(b + BLOCK, len(queries)))
    ]
    with ExitStack() as stack:
        clients = {t: stack.enter_context(httpx.Client(timeout=TIMEOUT)) for t in peers}
        for target in order:  # warm-up, not timed
            for _, keys in queries[:5]:
                _search(clients[target], root(peers[target]), keys)
        for target, q in schedule:
            begin = time.perf_counter()
            count = _search(clients[target], root(peers[target]), queries[q][1])
            ms[target].append((time.perf_counter() - begin) * 1000)
            found[target].append(count)
    return ms, found


def _search(client: httpx.Client, base: str, keys: dict[str, str]) -> int:
    params = {"limit": "101", "offset": "0", "fuzzymatching": "false", **keys}
    response = client.get(f"{base}/studies", params=params,
                          headers={"Accept": "application/dicom+json"})  # fmt: skip
    if response.status_code == 204:
        return 0
    response.raise_for_status()
    return len(response.json())


def _picker(queries: list[tuple[str, dict[str, str]]], kind: str
            ) -> Callable[[list[float]], list[float]]:  # fmt: skip
    return lambda values: [v for (k, _), v in zip(queries, values, strict=True) if k == kind]


# -- WADO-RS ----------------------------------------------------------------------------


def wado() -> list[Row]:
    console.rule(f"dicomweb wado: one {WADO_INSTANCES}-image CT study retrieved whole")
    with temp_folder("lysbord-bench-wado-") as folder, ExitStack() as stack:
        corpus = data.make_corpus(folder, studies=1, per_study=WADO_INSTANCES, size=512,
                                  parts=1, patients=1)  # fmt: skip
        peers = {t: stack.enter_context(web_server(t)) for t in ["orthanc", *BACKENDS]}
        for peer in peers.values():
            data.send(peer, corpus.parts)
        uid = _study_uid(peers["orthanc"])
        for peer in peers.values():  # warm-up, not timed: files cached, pools and code warm
            _retrieve(peer, uid)
        seconds: dict[str, list[float]] = defaultdict(list)
        for r in range(ROUNDS):
            for target in list(peers) if r % 2 == 0 else list(peers)[::-1]:
                took, size = _retrieve(peers[target], uid)
                if size < corpus.bytes:
                    raise RuntimeError(f"{target} sent {size} bytes of {corpus.bytes}")
                seconds[target].append(took)
    return [_suite(r) for r in _wado_rows(corpus.bytes / 1e6, seconds)]


def _study_uid(peer: Peer) -> str:
    response = httpx.get(f"{root(peer)}/studies", headers={"Accept": "application/dicom+json"})
    response.raise_for_status()
    return str(response.json()[0]["0020000D"]["Value"][0])


def _retrieve(peer: Peer, uid: str) -> tuple[float, int]:
    """Seconds to receive the whole study (curl's own clock), and how many bytes came."""
    cmd = ["curl", "--silent", "--show-error", "--output", "/dev/null",
           "--header", f"Accept: {DICOM_ACCEPT}", "--max-time", str(TIMEOUT.read),
           "--write-out", "%{http_code} %{size_download} %{time_total}",
           f"{root(peer)}/studies/{uid}"]  # fmt: skip
    status, size, seconds = subprocess.run(cmd, capture_output=True, text=True,
                                           check=True).stdout.split()  # fmt: skip
    if status != "200":
        raise RuntimeError(f"WADO-RS from {peer.name}: HTTP {status}")
    return float(seconds), int(size)


def _wado_rows(mb: float, seconds: dict[str, list[float]]) -> list[Row]:
    rows = []
    for backend in BACKENDS:
        mine, theirs = statistics.median(seconds[backend]), statistics.median(seconds["orthanc"])
        what = f"WADO-RS study of {WADO_INSTANCES} CT ({mb:,.0f} MB), median of {ROUNDS}"
        rows.append(compared(backend, f"{what}: MB/s", mb / mine, mb / theirs, "MB/s",
                             higher_is_better=True))  # fmt: skip
    return rows
