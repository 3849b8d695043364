"""Trial throughput and latency: simulated participants against gunicorn on PostgreSQL.

What it does, in one run:

1. (Re)creates the PostgreSQL database ``BENCH_DATABASE_URL`` (default
   postgres://postgres@127.0.0.1:5432/sketchq_bench), migrates it, and builds a launched
   study over the in-repo sample sketches (feature-based stand-in scores, as in the tests).
2. Starts gunicorn (``BENCH_WORKERS`` sync workers, default 3) with the production URLs plus
   one bench-only baseline view: a bare POST that does one INSERT (bench/trials_server).
3. ``BENCH_PARTICIPANTS`` (default 100) asyncio clients (a minimal HTTP/1.1 client on asyncio
   streams: httpx costs several ms of CPU per request, taken from the server on 2 cores), enter
   through the real pages (link → consent → instructions), untimed.
4. Saturation: every client posts as fast as it can, for ``BENCH_SECONDS`` each: baseline, then
   ``BENCH_ROUNDS`` (3) times answers and baseline again, in turn. Ratio = mean answers/s ÷ mean
   baseline requests/s; each answer phase's ratio to the two baselines around it is shown too.
5. Server CPU per whole trial: every client answers and then fetches whatever pictures the
   next trial's page links to, as a browser does (none since they are inline); the CPU time of the gunicorn workers and of their PostgreSQL
   backends (from /proc) is divided by the trials done. The same for a baseline request.
6. Paced: each client thinks 1–3 s between answers (a fast crowdworker; ``BENCH_THINK=lo,hi``),
   for both the baseline and the whole trials; p50 and p99 latency of each as
   the client sees it, with ``BENCH_PARTICIPANTS`` (100) and ``BENCH_MANY`` (300) participants.

Each trial request is the real thing: an htmx POST of the answer (CSRF, the participant cookie,
the participant rate limit counted in their row, the answer statements) whose response is the next trial's HTML with its two
pictures inline. The baseline has the same middleware and CSRF check, no rate limit and no
participant. Finally the database is dropped (BENCH_KEEP_DB=1 keeps it).

Also: statements per answer (Django's query log) and round trips per answer (libpq's trace of
the frontend messages: every simple Query and every Sync is one round trip), in-process.

Goals (issue 13): answers/s ≥ 0.75 of the baseline; server CPU per whole trial ≤ 7 ms; paced
p99 ≤ 50 ms at 100 participants; p99 at 300 reported.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import print_header, print_ratio, print_row  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sketchq_bench"
PARTICIPANTS = int(os.environ.get("BENCH_PARTICIPANTS", "100"))
MANY = int(os.environ.get("BENCH_MANY", "300"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
#: Saturated answer phases, each between two baseline phases (``BENCH_ROUNDS``).
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
#: Think time of a fast crowdworker between answers (seconds, uniform).
THINK_SECONDS = tuple(float(x) for x in os.environ.get("BENCH_THINK", "1.0,3.0").split(","))
TOKEN = re.compile(r'name="token" value="([\w-]+)"')
IMAGES = re.compile(r'<img src="(/p/[^"]+\.svg)"')
CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')
STUDY = {
    "pairs_per_cell": 100,
    "sampling_mode": "natural",
    "n_levels": 10,
    # Enough that no participant finishes during the measured phases (a finished page is cheaper
    # than a trial): at ~850 answers/s on a quiet machine, 100 participants answer ~200 each in
    # the warm-up and three saturated phases of 8 s, then more in the CPU and paced phases.
    "trials_per_participant": 600,
    "practice_trials": 0,
    "sentinels_per_participant": 4,
    "duplicates_per_participant": 4,
    "max_sentinel_mistakes": 10,
    "min_duplicate_distance": 8,
    "break_every": 0,
    "target_participants": 10_000,
    "idle_timeout_minutes": 600,
}


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')


def build_study():
    from django.db import connection

    from annotation.models import Participant
    from bench.trials_server.urls import BASELINE_TABLE
    from studies.actions import do_launch_study
    from tests.factories import make_scored_study

    study = make_scored_study(
        "bench-trials", category_files=("pig", "face", "apple", "cactus", "ambulance"), n=60, **STUDY
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {BASELINE_TABLE} (id bigserial PRIMARY KEY, choice text, at timestamptz)"
        )
    assert not Participant.objects.exists()
    return do_launch_study(study)


def _round_trips(trace_path: str) -> int:
    """Frontend messages that wait for the server: simple Query, and Sync (ends an extended query)."""
    count = 0
    with open(trace_path, errors="replace") as trace:
        for line in trace:
            parts = [part.strip() for part in line.split("\t")]
            if "F" in parts[:2] and ("Query" in parts[:4] or "Sync" in parts[:4]):
                count += 1
    return count


def statements_and_round_trips(slug: str) -> dict[str, tuple[int, int]]:
    """(statements, round trips) of one answer POST (htmx), one stimulus GET and one baseline
    POST, as the server runs them, counted in-process on a fresh request each."""
    import tempfile

    from django.db import close_old_connections, connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.get(f"/p/{slug}/?pid=query-counter")
    client.post(f"/p/{slug}/consent/", {"decision": "accept"})
    client.post(f"/p/{slug}/instructions/", {})
    page = client.get(f"/p/{slug}/task/").content.decode()
    for _ in range(6):  # past psycopg's first executions: statements are prepared by now
        token = TOKEN.search(page).group(1)
        page = client.post(
            f"/p/{slug}/answer/", {"token": token, "choice": "left"}, HTTP_HX_REQUEST="true"
        ).content.decode()
    stimulus = f"/p/{slug}/s/{TOKEN.search(page).group(1)}/left.svg"  # the URL stays for other readers
    client.get(stimulus)  # the stimulus statement prepared too

    def answer(cold: bool):
        from annotation import pictures
        from annotation.models import Trial

        token = TOKEN.search(page).group(1)
        if cold:  # the next pair's sketches not yet drawn by this process
            pictures.clear()
        else:  # a process that has drawn them already (the steady state: a study has a few thousand)
            current = Trial.objects.get(token=token)
            following = Trial.objects.get(
                participant_id=current.participant_id, is_practice=False, position=current.position + 1
            )
            pictures.pictures([following.left_sketch_id, following.right_sketch_id])
        return lambda: client.post(
            f"/p/{slug}/answer/", {"token": token, "choice": "left"}, HTTP_HX_REQUEST="true"
        )

    requests = {
        "answer (htmx POST), its pictures drawn before": lambda: answer(False),
        "answer (htmx POST), a picture not drawn yet": lambda: answer(True),
        "stimulus URL (GET; pages no longer use it)": lambda: lambda: client.get(stimulus),
        "baseline (POST, 1 INSERT)": lambda: lambda: client.post("/bench/baseline/", {"choice": "left"}),
    }
    counts = {}
    for label, prepare in requests.items():
        send = prepare()
        close_old_connections()
        connection.ensure_connection()
        with tempfile.NamedTemporaryFile("w+", suffix=".trace") as trace:
            connection.connection.pgconn.trace(trace.fileno())
            with CaptureQueriesContext(connection) as queries:
                response = send()
            connection.connection.pgconn.untrace()
            assert response.status_code == 200, (label, response.status_code)
            counts[label] = (len(queries), _round_trips(trace.name))
        if label.startswith("answer"):
            page = response.content.decode()
    return counts


def server_cpu_seconds(server: subprocess.Popen, database_url: str) -> float:
    """CPU time so far of the gunicorn workers and of the PostgreSQL backends of the database."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    backends = [row[0] for row in rows]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in [server.pid, *map(int, children), *backends]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone (a backend closed); its time is lost to both ends of the interval alike
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(database_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.trials_server.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CELERY_BROKER_URL": "",
        # Each worker keeps its connection for the whole run: with the default 60 s a backend that ends
        # mid-interval takes its CPU time out of the count (it read negative).
        "DATABASE_CONN_MAX_AGE": "3600",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--workers",
        str(WORKERS),
        "--bind",
        f"127.0.0.1:{port}",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start within 30 s")


class RawClient:
    """A minimal HTTP/1.1 client on asyncio streams, with a cookie jar.

    Lighter than httpx by several milliseconds of CPU per request, which on a 2-core
    machine would otherwise be taken from the server being measured. gunicorn's sync
    workers close the connection after each response, so a response ends at EOF.
    """

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None):
        body = urlencode(data).encode() if data is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if data is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            raw = await reader.read()
        finally:
            writer.close()
        head, _, payload = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        response_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";")[0]
            response_headers[name] = value
        if response_headers.get("transfer-encoding") == "chunked":
            payload = _unchunk(payload)
        if status >= 400:
            raise RuntimeError(f"{method} {path} -> {status}: {payload[:200]!r}")
        return status, response_headers, payload.decode()


def _unchunk(payload: bytes) -> bytes:
    out, rest = [], payload
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


class Worker:
    """One simulated participant: its own cookies, CSRF token and current trial."""

    def __init__(self, client: RawClient, slug: str, panel_id: str):
        self.client, self.slug, self.panel_id = client, slug, panel_id
        self.csrf = self.token = ""
        self.images: list[str] = []
        self.page_bytes = 0
        self.answered = 0

    async def enter(self) -> None:
        status, headers, _ = await self.client.request("GET", f"/p/{self.slug}/?pid={self.panel_id}")
        assert status == 302, status
        _, _, page = await self.client.request("GET", headers["location"])
        self.csrf = CSRF.search(page).group(1)
        await self.post(f"/p/{self.slug}/consent/", {"decision": "accept"})
        page = await self.post(f"/p/{self.slug}/instructions/", {})
        self.token = TOKEN.search(page).group(1)

    async def post(self, path: str, data: dict) -> str:
        headers = {"X-CSRFToken": self.csrf, "HX-Request": "true"}
        return (await self.client.request("POST", path, data, headers))[2]

    async def answer(self) -> bool:
        # Left and right in turn: always one side would be screened out (side bias) within a few
        # dozen answers, and the saturated phases would measure a shrinking crowd of blocked pages.
        self.answered += 1
        choice = ("left", "right")[self.answered % 2]
        page = await self.post(f"/p/{self.slug}/answer/", {"token": self.token, "choice": choice})
        found = TOKEN.search(page)
        self.token = found.group(1) if found else ""
        self.images = IMAGES.findall(page)[:2]
        self.page_bytes = len(page.encode())
        return bool(found)

    async def trial(self) -> bool:
        """A whole trial as a browser does it: the answer, then any picture the new page links to
        (none since the pictures are inline: a trial is one request)."""
        going = await self.answer()
        for url in self.images:
            await self.client.request("GET", url)
        return going

    async def baseline(self) -> bool:
        await self.post("/bench/baseline/", {"choice": "left"})
        return True


async def run_phase(workers, action: str, seconds: float, think: tuple[float, float] | None):
    """Each worker repeats ``action`` until the deadline; returns (requests/s, latencies in ms)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    rng = random.Random(7)

    async def loop(worker):
        while time.perf_counter() < deadline:
            if think:
                await asyncio.sleep(rng.uniform(*think))
            start = time.perf_counter()
            going = await getattr(worker, action)()
            latencies.append((time.perf_counter() - start) * 1000)
            if not going:
                return

    start = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in workers))
    return len(latencies) / (time.perf_counter() - start), latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def measure(port: int, slug: str, server: subprocess.Popen, database_url: str) -> dict:
    count = max(PARTICIPANTS, MANY)
    workers = [Worker(RawClient("127.0.0.1", port), slug, f"bench-{i:04d}") for i in range(count)]
    for chunk in range(0, len(workers), 10):
        await asyncio.gather(*(w.enter() for w in workers[chunk : chunk + 10]))
    few = workers[:PARTICIPANTS]
    await run_phase(few, "baseline", 2, None)  # warm-up: every worker process has served
    await run_phase(few, "answer", 2, None)  # and prepared its statements
    results = {}
    # Saturated, alternating: baseline, answers, baseline, answers, …, baseline (ROUNDS answer phases of
    # SECONDS each); each answer phase is compared with the two baseline phases around it, so a change of
    # load on the shared machine during the run moves both sides of a ratio alike.
    baselines = [await run_phase(few, "baseline", SECONDS, None)]
    answers = []
    for _ in range(ROUNDS):
        answers.append(await run_phase(few, "answer", SECONDS, None))
        baselines.append(await run_phase(few, "baseline", SECONDS, None))
    results["baselines"], results["answers"] = baselines, answers
    results["baseline_1"] = (baselines[0][0], [x for rate, lat in baselines for x in lat])
    results["trials"] = (statistics.mean(r for r, _ in answers), [x for rate, lat in answers for x in lat])
    for action in ("baseline", "trial"):
        before = server_cpu_seconds(server, database_url)
        rate, latencies = await run_phase(few, action, SECONDS, None)
        results[f"cpu_{action}"] = (server_cpu_seconds(server, database_url) - before) / len(latencies)
    results["pictures_per_trial"] = statistics.mean(len(w.images) for w in few)
    results["answer_bytes"] = statistics.median(w.page_bytes for w in few if w.page_bytes)
    results["paced_baseline"] = await run_phase(few, "baseline", SECONDS * 2, THINK_SECONDS)
    results["paced_trials"] = await run_phase(few, "trial", SECONDS * 2, THINK_SECONDS)
    results["paced_many"] = await run_phase(workers[:MANY], "trial", SECONDS * 2, THINK_SECONDS)
    results["still_answering"] = sum(1 for w in workers if w.token)
    results["ran_out"] = sum(1 for w in few if not w.token)
    return results


def report(results: dict, counts: dict) -> None:
    print_header(f"Trials: {PARTICIPANTS} participants, gunicorn {WORKERS} sync workers, PostgreSQL")
    for label, (statements, round_trips) in counts.items():
        print_row(f"{label}: statements / round trips", f"{statements} / {round_trips}")
    baseline_rates = [rate for rate, _ in results["baselines"]]
    answer_rates = [rate for rate, _ in results["answers"]]
    ratios = [a / statistics.mean(baseline_rates[i : i + 2]) for i, a in enumerate(answer_rates)]
    baseline, answers = statistics.mean(baseline_rates), statistics.mean(answer_rates)
    print_row(
        "saturated: baseline (1 INSERT) requests/s, in turn", " ".join(f"{r:.0f}" for r in baseline_rates)
    )
    print_row(
        "saturated: answers/s (answer + next trial's HTML), in turn",
        " ".join(f"{r:.0f}" for r in answer_rates),
    )
    print_row(
        "ratio of each answer phase to the baselines around it",
        " ".join(f"{r:.3f}" for r in ratios) + f" (median {statistics.median(ratios):.3f})",
    )
    print_row("answer response (next trial's HTML, pictures inline), bytes", f"{results['answer_bytes']:.0f}")
    for label, key in (("saturated baseline", "baseline_1"), ("saturated answers", "trials")):
        lat = results[key][1]
        print_row(f"{label} latency p50 / p99 (ms)", f"{percentile(lat, 50):.1f} / {percentile(lat, 99):.1f}")
    print_row("server CPU per baseline request (ms)", f"{results['cpu_baseline'] * 1000:.2f}")
    print_row(
        "participants still on a trial at the end (none blocked or finished)",
        f"{results['still_answering']} of {max(PARTICIPANTS, MANY)}",
    )
    if results["ran_out"]:
        print(
            f"  INVALID: {results['ran_out']} of the {PARTICIPANTS} measured participants left the trials "
            "(finished or blocked) during the measured phases; their cheaper pages were counted as trials"
        )
    cpu = results["cpu_trial"] * 1000
    print_row(
        f"server CPU per whole trial: answer + {results['pictures_per_trial']:.0f} picture GETs (ms)",
        f"{cpu:.2f} (goal ≤ 7: {'yes' if cpu <= 7 else 'no'})",
    )
    for label, key in (
        ("paced baseline", "paced_baseline"),
        (f"paced whole trials, {PARTICIPANTS} participants", "paced_trials"),
        (f"paced whole trials, {MANY} participants", "paced_many"),
    ):
        rate, lat = results[key]
        print_row(
            f"{label}: req/s, p50 / p99 (ms)",
            f"{rate:.0f}, {percentile(lat, 50):.1f} / {percentile(lat, 99):.1f}",
        )
    print_ratio("answers/s ÷ baseline requests/s (saturated)", answers, baseline, goal="≥ 0.75")
    p99 = percentile(results["paced_trials"][1], 99)
    print_row(
        f"paced whole-trial p99 ≤ 50 ms at {PARTICIPANTS}?", f"{'yes' if p99 <= 50 else 'no'} ({p99:.1f} ms)"
    )


def main() -> int:
    database_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if not database_url.startswith("postgres"):
        print("bench_trials needs PostgreSQL (BENCH_DATABASE_URL=postgres://...)")
        return 1
    import psycopg

    try:
        recreate_database(database_url)
    except psycopg.OperationalError as error:
        print(f"bench_trials skipped: PostgreSQL is not reachable at {database_url} ({error})")
        return 0
    os.environ["BENCH_DATABASE_URL"] = database_url
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.trials_server.settings"  # the baseline view in-process too
    # Rate-limit counters as deployed: in Redis (BENCH_CACHE_URL), else per-process memory.
    os.environ["CACHE_URL"] = os.environ.get("BENCH_CACHE_URL", "")
    from bench.django_setup import setup_django

    setup_django()
    server = None
    try:
        study = build_study()
        counts = statements_and_round_trips(study.slug)
        port = free_port()
        server = start_gunicorn(database_url, port)
        results = asyncio.run(measure(port, study.slug, server, database_url))
        report(results, counts)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            recreate_database(database_url, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
