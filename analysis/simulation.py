"""Simulated crowdworkers that take a study through its real participant pages (no Django).

A simulated participant sees only what a browser sees: the step pages (HTML) and the
two stimulus SVGs of each trial. It recognises a stimulus by the SHA-256 of its SVG
(a table built up front from the public sketches, see ``analysis.crowd``) and answers
from a *latent quality* per sketch id, also fixed up front and independent of the
scorers a study compares (``analysis.crowd.latent_table``). It never sees pair ids, sentinel flags or answers.

Profiles:

- ``good``: Bradley–Terry on the latent quality, P(left) = σ(β·(u_left − u_right)), β = 12;
- ``thurstone``: a good worker with Thurstone noise, P(left) = Φ((u_left − u_right)/σ);
- ``spammer``: a fair coin, fast;
- ``left_biased``: presses left 90% of the time, otherwise answers like a good worker;
- ``always_left``: presses left every time;
- ``too_fast``: some signal (β = 4) but answers in ~240 ms, faster than one can look;
- ``inconsistent``: a weak signal (β = 1.5), close to a coin flip.
- ``careful``: a careful person (as ``good``, with 5% lapses of attention), for the bot tests;
- ``scorer_bot``: an agent that answers from the *scorer's* q (the caller gives it that truth)
  with human-like delays and human-like telemetry;
- ``fast_clicker``: clicks at random in ~260 ms.

Best-of-K and single trials (``studies.models.TrialType``) are answered from the same latent
quality and profile: best of K picks option k with the Plackett–Luce top-1 probability
∝ exp(β·u_k) (Bradley–Terry when K = 2), abstains (when offered) if the two best options are
closer than ``none_below``; a single trial says "yes" with probability σ(β·(u − 0.5)) (a drawing
better than the middle of its category's latent scale is a good one). ``left_rate`` is a bias to
the first option (best of K) or to "yes" (single), the positions the bot flags read as "left".

With a ``telemetry_rng`` a responder also sends the trial page's telemetry
(``annotation.telemetry``): focus and visibility changes, input kind, pointer movement,
viewport and a device fingerprint of its own, as its kind of client would produce them.

``run_participant`` drives one participant over a ``Transport`` (Django's test Client or a
real HTTP client): consent, instructions, practice and its feedback, trials and breaks,
until the completion, blocked, expired or closed page.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Protocol
from urllib.parse import unquote_to_bytes

import numpy as np

__all__ = [
    "PROFILES",
    "Page",
    "ParticipantOutcome",
    "Profile",
    "Responder",
    "SimulationError",
    "Transport",
    "crowd_profiles",
    "latent_quality",
    "parse_step",
    "run_participant",
    "svg_digest",
]

#: A single trial's drawing is "good" when its latent quality is above this (the middle of [0, 1]).
YES_ABOVE = 0.5
FINAL_STEPS = ("complete", "blocked", "expired", "closed", "declined")


@dataclass(frozen=True)
class Profile:
    kind: str
    beta: float = 12.0  # Bradley–Terry sharpness on the latent scale [0, 1]
    thurstone_sigma: float = 0.0  # > 0: Thurstone (probit) instead of Bradley–Terry
    left_rate: float = 0.0  # share of trials answered "left" whatever is shown
    random_rate: float = 0.0  # share of trials answered by a fair coin
    rt_median_ms: float = 1400.0
    rt_sigma: float = 0.45  # log-normal spread of the response time
    none_below: float = 0.03  # answers "no difference" (when offered) if |u_left − u_right| is below this
    input_kinds: str = "kp"  # telemetry: the inputs it answers with (k key, p pointer, t touch)
    moves_median: float = 25.0  # telemetry: pointer moves per trial (pointer answers)
    blur_rate: float = 0.02  # telemetry: share of trials in which the window loses focus
    hidden_rate: float = 0.01  # telemetry: share of trials in which the tab is hidden


PROFILES: dict[str, Profile] = {
    "good": Profile("good"),
    "thurstone": Profile("thurstone", thurstone_sigma=0.09),
    "spammer": Profile("spammer", random_rate=1.0, rt_median_ms=330.0, rt_sigma=0.35, none_below=0.0),
    "left_biased": Profile("left_biased", left_rate=0.9, rt_median_ms=600.0),
    "always_left": Profile("always_left", left_rate=1.0, rt_median_ms=500.0, none_below=0.0),
    "too_fast": Profile("too_fast", beta=4.0, rt_median_ms=240.0, rt_sigma=0.3),
    "inconsistent": Profile("inconsistent", beta=1.5, rt_median_ms=900.0),
    "careful": Profile("careful", random_rate=0.05, rt_median_ms=1500.0, hidden_rate=0.02, input_kinds="kpt"),
    "scorer_bot": Profile("scorer_bot", beta=5000.0, rt_median_ms=1800.0, rt_sigma=0.35, none_below=0.0),
    "fast_clicker": Profile(
        "fast_clicker",
        random_rate=1.0,
        rt_median_ms=260.0,
        rt_sigma=0.25,
        none_below=0.0,
        input_kinds="p",
        moves_median=2.0,
        blur_rate=0.0,
        hidden_rate=0.0,
    ),
}


def crowd_profiles(counts: Mapping[str, int], rng: np.random.Generator) -> list[Profile]:
    """``{"good": 12, "spammer": 2, ...}`` → the profiles in a seeded random arrival order."""
    unknown = set(counts) - set(PROFILES)
    if unknown:
        raise ValueError(f"unknown responder profile(s): {', '.join(sorted(unknown))}")
    if any(int(n) < 0 for n in counts.values()):
        raise ValueError("profile counts must be ≥ 0")
    crowd = [PROFILES[kind] for kind, n in counts.items() for _ in range(int(n))]
    return [crowd[i] for i in rng.permutation(len(crowd))]


def latent_quality(sketch_ids, q, groups, rng: np.random.Generator, noise: float = 0.05) -> dict[int, float]:
    """A latent quality per sketch id: q min–max normalised within its group (category),
    plus Gaussian noise of sd ``noise``. Monotone in q up to the noise."""
    ids = np.asarray(sketch_ids, dtype=np.int64)
    q = np.asarray(q, dtype=float)
    groups = np.asarray(groups)
    if not (ids.shape == q.shape == groups.shape) or ids.ndim != 1:
        raise ValueError("sketch_ids, q and groups must be 1-D arrays of the same length")
    if not np.all(np.isfinite(q)):
        raise ValueError("q must be finite for every sketch")
    latent = np.empty(ids.size)
    for g in np.unique(groups):
        sel = groups == g
        lo, hi = q[sel].min(), q[sel].max()
        latent[sel] = (q[sel] - lo) / (hi - lo) if hi > lo else 0.5
    latent += noise * rng.standard_normal(ids.size)
    return dict(zip(ids.tolist(), latent.tolist()))


class Responder:
    """One simulated worker: a profile, its latent-quality table, its own random stream."""

    def __init__(
        self,
        profile: Profile,
        latent: Mapping[int, float],
        rng: np.random.Generator,
        telemetry_rng: np.random.Generator | None = None,
    ):
        self.profile, self.latent, self.rng = profile, latent, rng
        self.telemetry_rng = telemetry_rng  # None: no telemetry (a client without JavaScript)
        if telemetry_rng is not None:
            self.device = "".join(f"{b:02x}" for b in telemetry_rng.integers(0, 256, 8).tolist())
            self.viewport = [(1280, 720), (1440, 900), (1920, 1080), (390, 844), (412, 915)][
                int(telemetry_rng.integers(0, 5))
            ]

    def p_left(self, left_id: int | None, right_id: int | None) -> float:
        p = self.profile
        u_l, u_r = self._latent(left_id), self._latent(right_id)
        if u_l is None or u_r is None:
            signal = 0.5  # an unrecognised stimulus: no opinion
        elif p.thurstone_sigma > 0:
            signal = 0.5 * (1.0 + math.erf((u_l - u_r) / (p.thurstone_sigma * math.sqrt(2.0))))
        else:
            signal = 1.0 / (1.0 + math.exp(min(700.0, -p.beta * (u_l - u_r))))
        return p.left_rate + p.random_rate * 0.5 + (1.0 - p.left_rate - p.random_rate) * signal

    def choose(self, left_id: int | None, right_id: int | None, allow_none: bool = False) -> str:
        draw = self.rng.random()  # one draw per trial, whatever the answer
        u_l, u_r = self._latent(left_id), self._latent(right_id)
        if allow_none and u_l is not None and u_r is not None and abs(u_l - u_r) < self.profile.none_below:
            return "none"
        return "left" if draw < self.p_left(left_id, right_id) else "right"

    def p_options(self, option_ids: list[int | None]) -> np.ndarray:
        """P(pick option k) for a best-of-K trial (see the module doc); sums to 1."""
        p, k = self.profile, len(option_ids)
        u = [self._latent(pk) for pk in option_ids]
        if any(x is None for x in u):
            signal = np.full(k, 1.0 / k)  # an unrecognised stimulus: no opinion
        else:
            logits = p.beta * np.array(u, dtype=float)
            weights = np.exp(logits - logits.max())
            signal = weights / weights.sum()
        first = np.zeros(k)
        first[0] = 1.0
        return p.left_rate * first + p.random_rate / k + (1.0 - p.left_rate - p.random_rate) * signal

    def choose_option(self, option_ids: list[int | None], allow_none: bool = False) -> str:
        """Option "1".."K", or "none" (abstain, when offered and the two best look alike)."""
        draw = self.rng.random()  # one draw per trial, whatever the answer
        known = [u for u in (self._latent(pk) for pk in option_ids) if u is not None]
        if allow_none and len(known) == len(option_ids):
            best, second = sorted(known, reverse=True)[:2]
            if best - second < self.profile.none_below:
                return "none"
        cumulative = np.cumsum(self.p_options(option_ids))
        picked = min(int(np.searchsorted(cumulative, draw, side="right")), len(option_ids) - 1)
        return str(picked + 1)

    def p_yes(self, sketch_id: int | None) -> float:
        """P("yes") for a single trial: σ(β·(u − 0.5)), with the profile's bias and lapses."""
        p = self.profile
        u = self._latent(sketch_id)
        signal = 0.5 if u is None else 1.0 / (1.0 + math.exp(min(700.0, -p.beta * (u - YES_ABOVE))))
        return p.left_rate + p.random_rate * 0.5 + (1.0 - p.left_rate - p.random_rate) * signal

    def answer_single(self, sketch_id: int | None) -> str:
        return "yes" if self.rng.random() < self.p_yes(sketch_id) else "no"

    def _latent(self, sketch_id: int | None) -> float | None:
        """The latent quality of a recognised stimulus; None for one it does not know."""
        return None if sketch_id is None else self.latent.get(sketch_id)

    def response_ms(self) -> int:
        p = self.profile
        return int(round(p.rt_median_ms * math.exp(p.rt_sigma * self.rng.standard_normal())))

    def telemetry(self) -> str | None:
        """The trial page's ``tm`` field as this kind of client would send it (None: none sent)."""
        rng, p = self.telemetry_rng, self.profile
        if rng is None:
            return None
        kind = p.input_kinds[int(rng.integers(0, len(p.input_kinds)))]
        moves = int(rng.poisson(p.moves_median)) if kind == "p" else int(rng.poisson(2))
        return ";".join(
            [
                f"b={int(rng.random() < p.blur_rate)}",
                f"v={int(rng.random() < p.hidden_rate)}",
                f"i={kind}",
                f"m={moves}",
                f"p={int(moves * rng.uniform(5, 25))}",
                f"w={self.viewport[0]}",
                f"h={self.viewport[1]}",
                f"f={self.device}",
            ]
        )


def svg_digest(svg: str | bytes) -> str:
    data = svg.encode() if isinstance(svg, str) else svg
    return hashlib.sha256(data).hexdigest()


# -- reading the pages ---------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # hidden inputs
    buttons: dict[str, list[str]] = field(default_factory=dict)  # name → offered values


@dataclass
class Step:
    name: str
    forms: list[Form]
    images: dict[str, str]  # alt text → src

    def form_with(self, button: str | None = None) -> Form:
        for form in self.forms:
            if button is None or button in form.buttons:
                return form
        raise SimulationError(f"the {self.name!r} page has no form with a {button!r} button")


class _StepParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.name = ""
        self.forms: list[Form] = []
        self.images: dict[str, str] = {}
        self._form: Form | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "main" and a.get("id") == "step":
            self.name = a.get("data-step", "")
        elif tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("type") == "hidden":
            self._form.fields[a.get("name", "")] = a.get("value", "")
        elif tag == "button" and self._form is not None and a.get("name"):
            self._form.buttons.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "img" and a.get("alt"):
            self.images[a["alt"]] = a.get("src", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def parse_step(html: str) -> Step:
    """The participant screen in ``html`` (a full page or the htmx fragment)."""
    parser = _StepParser()
    parser.feed(html)
    return Step(parser.name, parser.forms, parser.images)


# -- driving one participant -----------------------------------------------------------


class SimulationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Page:
    status: int
    text: str
    content: bytes = b""


class Transport(Protocol):
    def get(self, path: str, *, htmx: bool = False) -> Page: ...  # follows redirects

    def post(self, path: str, data: dict, *, htmx: bool = False) -> Page: ...


@dataclass
class ParticipantOutcome:
    panel_id: str
    profile: str
    final_step: str  # complete | blocked | expired | closed | declined | refused:<notice>
    answered: int = 0  # answers sent, practice included
    unrecognised_stimuli: int = 0


def _stimulus(transport: Transport, url: str, identify: Callable[[str], int | None]) -> int | None:
    """The sketch a picture shows: inline in the page (a ``data:`` URI), or fetched from its URL."""
    if url.startswith("data:"):  # data:image/svg+xml,<the SVG, %-encoded>
        return identify(svg_digest(unquote_to_bytes(url.partition(",")[2])))
    page = transport.get(url)
    if page.status != 200:
        raise SimulationError(f"stimulus {url} answered HTTP {page.status}")
    return identify(svg_digest(page.content))


def _answer(
    transport: Transport, step: Step, form: Form, responder: Responder, identify: Callable[[str], int | None]
) -> tuple[str, int]:
    """The responder's answer to a trial screen of any type, and how many stimuli it did not know."""
    allow_none = "none" in form.buttons["choice"]
    if "The sketch" in step.images:  # single: yes / no
        shown = _stimulus(transport, step.images["The sketch"], identify)
        return responder.answer_single(shown), int(shown is None)
    if "Sketch 1" in step.images:  # best of K: options "Sketch 1" .. "Sketch K"
        k = sum(1 for alt in step.images if alt.startswith("Sketch "))
        options = [_stimulus(transport, step.images[f"Sketch {n}"], identify) for n in range(1, k + 1)]
        return responder.choose_option(options, allow_none), sum(pk is None for pk in options)
    left = _stimulus(transport, step.images["Left sketch"], identify)
    right = _stimulus(transport, step.images["Right sketch"], identify)
    return responder.choose(left, right, allow_none), (left is None) + (right is None)


def run_participant(
    transport: Transport,
    entry_url: str,
    panel_id: str,
    responder: Responder,
    identify: Callable[[str], int | None],
    *,
    max_steps: int = 100_000,
    wait: Callable[[int], None] | None = None,
) -> ParticipantOutcome:
    """Take one participant from the panel link to a final page; returns what happened.
    ``wait(ms)``, if given, is called with each trial's response time before the answer is
    sent (real sleeping against a server, or a test's clock)."""
    outcome = ParticipantOutcome(panel_id, responder.profile.kind, "")
    page = transport.get(entry_url)
    for _ in range(max_steps):
        step = parse_step(page.text)
        if not step.name:
            if page.status >= 400:  # a notice page: full, closed, not open ...
                outcome.final_step = f"refused:{page.status}"
                return outcome
            raise SimulationError(f"{panel_id}: no participant screen in the response (HTTP {page.status})")
        if step.name in FINAL_STEPS:
            outcome.final_step = step.name
            return outcome
        if step.name == "trial":
            form = step.form_with("choice")
            choice, unrecognised = _answer(transport, step, form, responder, identify)
            outcome.unrecognised_stimuli += unrecognised
            response_ms = responder.response_ms()
            data = form.fields | {"choice": choice, "client_ms": response_ms}
            measured = responder.telemetry()
            if measured is not None:
                data["tm"] = measured
            if wait is not None:
                wait(response_ms)
            page = transport.post(form.action, data, htmx=True)
            outcome.answered += 1
        elif step.name == "consent":
            form = step.form_with("decision")
            page = transport.post(form.action, form.fields | {"decision": "accept"}, htmx=True)
        elif step.name == "feedback":
            page = transport.get(step.form_with().action, htmx=True)
        elif step.name in ("instructions", "break"):
            form = step.form_with()
            page = transport.post(form.action, form.fields, htmx=True)
        else:
            raise SimulationError(f"{panel_id}: unknown participant screen {step.name!r}")
        if page.status >= 500:
            raise SimulationError(
                f"{panel_id}: the server failed (HTTP {page.status}) after the {step.name} screen"
            )
    raise SimulationError(f"{panel_id}: no final page after {max_steps} screens")
