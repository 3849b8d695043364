"""Fill a study with simulated participants through its real pages (``simulate_crowd``).

What the simulator may know, fixed before the first request:

- the public sketches: their SVG as the stimulus URL serves it (``sketches.render.svg``),
  hashed, so a shown stimulus can be recognised by content;
- a latent quality per sketch, independent of every scorer the study compares
  (``latent_table``: drawn per sketch, or an oracle scorer's q); a degraded copy is
  well below its source.

It never reads trials, planned pairs, gold pairs or answers. Every answer goes through
the participant URLs under ``/p/<slug>/``, by Django's test ``Client`` in this process
or, with ``base_url``, over real HTTP to a running server.
"""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.urls import reverse

from analysis import simulation
from scoring.models import Scorer, SketchScore
from sketches import render
from sketches.models import Sketch
from studies import seeds
from studies.models import Panel, Study


class CrowdError(ValueError):
    """The simulation cannot run (bad arguments, nothing to show); nothing was sent."""


@dataclass
class CrowdResult:
    study: str
    outcomes: list[simulation.ParticipantOutcome] = field(default_factory=list)

    @property
    def by_final_step(self) -> dict[tuple[str, str], int]:
        return dict(Counter((o.profile, o.final_step) for o in self.outcomes))

    @property
    def unrecognised_stimuli(self) -> int:
        return sum(o.unrecognised_stimuli for o in self.outcomes)

    def summary(self) -> str:
        parts = [f"{n} {profile} → {step}" for (profile, step), n in sorted(self.by_final_step.items())]
        answered = sum(o.answered for o in self.outcomes)
        text = f"{self.study}: {len(self.outcomes)} simulated participants, {answered} answers ({'; '.join(parts)})"
        if self.unrecognised_stimuli:
            text += f"; {self.unrecognised_stimuli} stimuli not recognised (answered without an opinion)"
        return text


# -- what the simulator knows up front ----------------------------------------------


def stimulus_index(study: Study) -> dict[str, int]:
    """SHA-256 of each candidate stimulus SVG → sketch id (the study's categories, all splits).

    A digest shared by two sketches (identical drawings) maps to neither.
    """
    index: dict[str, int] = {}
    clashes: set[str] = set()
    sketches = Sketch.objects.filter(category__in=study.categories.all()).values_list("pk", "strokes")
    for pk, strokes in sketches.iterator(chunk_size=2000):
        digest = simulation.svg_digest(render.svg(strokes))
        if digest in index:
            clashes.add(digest)
        index[digest] = pk
    for digest in clashes:
        del index[digest]
    return index


#: How much worse a degraded copy is than its source on the latent scale [0, 1] ("heavily").
DEGRADED_DROP = 0.6


def oracle_scorer(study: Study, name: str | None) -> Scorer | None:
    """The scorer whose q the latent quality follows, or None for an independent latent.

    Never one the study compares: a truth taken from a compared scorer builds that method's
    win into the simulated answers (issue 11)."""
    if not name:
        return None
    compared = {s.name for s in study.scorers.all()}
    if name in compared:
        raise CrowdError(
            f"{name!r} is one of the methods the study compares ({', '.join(sorted(compared))}): "
            "a simulated truth must come from elsewhere (an oracle scorer, or the default latent)"
        )
    scorer = Scorer.objects.filter(name=name).first()
    if scorer is None:
        raise CrowdError(f"no scorer named {name!r} to use as the oracle")
    return scorer


def latent_table(
    study: Study, rng: np.random.Generator, noise: float = 0.05, oracle: Scorer | None = None
) -> dict[int, float]:
    """The simulated truth: a latent quality per sketch of the study's categories.

    Default: drawn for each sketch, uniform on [0, 1], independent of every scorer, so no
    method's agreement is built in (each method's expected agreement is 50%). With an
    ``oracle`` (a scorer not compared in the study): its q, min–max normalised per category,
    plus N(0, noise). A degraded copy (degradation gold) sits ``DEGRADED_DROP`` below its source.
    """
    originals = Sketch.objects.originals().filter(category__in=study.categories.all())
    if oracle is None:
        rows = list(originals.order_by("pk").values_list("pk", "category_id"))
        if not rows:
            raise CrowdError(f"study {study.slug!r} has no sketches to simulate a truth for")
        ids = [pk for pk, _ in rows]
        latent = dict(zip(ids, rng.uniform(0.0, 1.0, len(ids)).tolist()))
    else:
        rows = list(
            SketchScore.objects.filter(scorer=oracle, sketch__in=originals)
            .order_by("sketch_id")
            .values_list("sketch_id", "q", "sketch__category_id")
        )
        if not rows:
            raise CrowdError(f"the oracle {oracle.name!r} has no scores for the categories of {study.slug!r}")
        ids, q, groups = (np.array(column) for column in zip(*rows))
        latent = simulation.latent_quality(ids, q, groups, rng, noise=noise)
    return with_degraded_copies(study, latent)


def with_degraded_copies(study: Study, latent: dict[int, float]) -> dict[int, float]:
    """``latent`` plus each degraded copy of a known sketch, ``DEGRADED_DROP`` below its source."""
    derived = Sketch.objects.filter(category__in=study.categories.all(), derived_from__isnull=False)
    for pk, source in derived.values_list("pk", "derived_from_id"):
        if source in latent:
            latent[pk] = latent[source] - DEGRADED_DROP
    return latent


# -- transports ---------------------------------------------------------------------------


class DjangoClientTransport:
    """Django's test Client: the real URLconf, middleware and views, in this process."""

    def __init__(self, remote_addr: str | None = None):
        from django.test import Client

        hosts = [h for h in settings.ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")]
        self.secure = bool(settings.SECURE_SSL_REDIRECT)
        extra = {"REMOTE_ADDR": remote_addr} if remote_addr else {}
        self.client = Client(HTTP_HOST=hosts[0] if hosts else "localhost", **extra)

    def _page(self, response) -> simulation.Page:
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return simulation.Page(response.status_code, content.decode(errors="replace"), content)

    def get(self, path, *, htmx=False):
        headers = {"HX-Request": "true"} if htmx else {}
        return self._page(self.client.get(path, follow=True, headers=headers, secure=self.secure))

    def post(self, path, data, *, htmx=False):
        headers = {"HX-Request": "true"} if htmx else {}
        return self._page(self.client.post(path, data, follow=True, headers=headers, secure=self.secure))


class HttpTransport:
    """A running server over HTTP(S): cookies, CSRF header and Referer as a browser sends them."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise CrowdError(f"--base-url must look like http://host:port, got {base_url!r}")
        self.base = f"{parsed.scheme}://{parsed.netloc}"
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.timeout = timeout

    def _send(self, path, data=None, htmx=False) -> simulation.Page:
        url = urllib.parse.urljoin(self.base, path)
        headers = {"Referer": url, "User-Agent": "sketchq-simulate-crowd"}
        if htmx:
            headers["HX-Request"] = "true"
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            token = next((c.value for c in self.cookies if c.name == settings.CSRF_COOKIE_NAME), "")
            headers["X-CSRFToken"] = token
        request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                content = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            content, status = error.read(), error.code
        except urllib.error.URLError as error:
            raise simulation.SimulationError(f"cannot reach {url}: {error.reason}") from None
        return simulation.Page(status, content.decode(errors="replace"), content)

    def get(self, path, *, htmx=False):
        return self._send(path, htmx=htmx)

    def post(self, path, data, *, htmx=False):
        return self._send(path, {k: str(v) for k, v in data.items()}, htmx=htmx)


# -- the crowd ---------------------------------------------------------------------------


def do_mark_simulated(study: Study, panel_id: str) -> int:
    """Label a simulated participant as such (dashboard, report, rankings, exports)."""
    from annotation.models import Participant

    return Participant.objects.filter(study=study, panel_id=panel_id).update(simulated=True)


def entry_url(study: Study, panel_id: str) -> str:
    path = reverse("annotation:entry", args=[study.slug])
    if study.panel == Panel.PROLIFIC:
        query = {
            "PROLIFIC_PID": panel_id,
            "STUDY_ID": study.prolific_study_id or f"sim-{study.slug}",
            "SESSION_ID": f"session-{panel_id}",
        }
    else:
        query = {"pid": panel_id}
    return f"{path}?{urllib.parse.urlencode(query)}"


def run_simulated_participant(
    study: Study,
    panel_id: str,
    profile: simulation.Profile,
    truth: dict[int, float],
    identify: Callable[[str], int | None],
    transport: simulation.Transport,
    *,
    seed: int,
    number: int,
    wait: Callable[[int], None] | None = None,
) -> simulation.ParticipantOutcome:
    """One simulated participant, answering from ``truth``, through the study's pages; then
    labelled simulated. Its random streams follow (seed, number) under the study's seed scheme."""
    responder = simulation.Responder(
        profile,
        truth,
        seeds.rng(study.seed_scheme, "crowd_worker", seed, number),
        telemetry_rng=np.random.default_rng([seed, number, 16]),
    )
    outcome = simulation.run_participant(
        transport, entry_url(study, panel_id), panel_id, responder, identify, wait=wait
    )
    do_mark_simulated(study, panel_id)
    return outcome


def simulate_crowd(
    study: Study,
    counts: dict[str, int],
    *,
    seed: int = 0,
    base_url: str | None = None,
    oracle_name: str | None = None,
    noise: float = 0.05,
    say: Callable[[str], None] | None = None,
    transport_factory: Callable[[], simulation.Transport] | None = None,
) -> CrowdResult:
    """Run ``counts`` simulated participants (by profile) through ``study``'s participant pages.

    Panel ids are ``sim-<seed>-<n>``, so the same seed resumes (or finds finished) the same
    participants instead of adding new ones.
    """
    if not study.is_accepting:
        raise CrowdError(f"study {study.slug!r} is {study.state}: launch it (pilot or live) first")
    scheme = study.seed_scheme  # the simulation's streams follow the study's seed scheme
    rng_crowd = seeds.rng(scheme, "crowd_arrivals", seed)
    profiles = simulation.crowd_profiles(counts, rng_crowd)
    if not profiles:
        raise CrowdError("no participants to simulate (all counts are 0)")
    if transport_factory is None:
        transport_factory = (lambda: HttpTransport(base_url)) if base_url else DjangoClientTransport
    transport_factory()  # validates --base-url before anything is sent
    latent = latent_table(
        study, seeds.rng(scheme, "crowd_latent", seed), noise, oracle_scorer(study, oracle_name)
    )
    index = stimulus_index(study)
    result = CrowdResult(study.slug)
    for number, profile in enumerate(profiles):
        panel_id = f"sim-{seed}-{number}"
        outcome = run_simulated_participant(
            study, panel_id, profile, latent, index.get, transport_factory(), seed=seed, number=number
        )
        result.outcomes.append(outcome)
        if say:
            say(f"  {panel_id} ({profile.kind}): {outcome.final_step} after {outcome.answered} answers")
    return result
