"""A small client for Prolific's researcher API (https://docs.prolific.com/api-reference).

Endpoints used (all under ``{base}/api/v1/``, header ``Authorization: Token <token>``):

* ``GET submissions/?study=ID`` — list a study's submissions (paginated, ``_links.next``);
* ``GET studies/ID/`` — the study's ``status``, ``total_available_places`` and ``places_taken``;
* ``POST submissions/bulk-approve/`` ``{"study_id", "participant_ids"}`` — approve in bulk;
* ``POST submissions/ID/transition/`` ``{"action": "REJECT", "rejection_category", "message"}`` —
  reject one submission (the message must be at least 100 characters; the call is idempotent);
* ``POST submissions/bonus-payments/`` ``{"study_id", "csv_bonuses": "pid,amount\\n..."}`` — set
  up a bonus batch (returns its ``id``; it pays nothing yet);
* ``POST bulk-bonus-payments/ID/pay/`` — pay that batch. **Not idempotent** (Prolific pays again
  for a second call), so it is never retried automatically.

Timeouts, connection errors, 429 and 5xx answers are retried with exponential back-off
(``retries`` times) for every call but ``pay``; anything else raises ``ProlificError`` with the
reason in words. The client holds no state besides its ``requests.Session``.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import requests

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_PAGES = 1000


class ProlificError(Exception):
    """A call to Prolific failed; ``str(error)`` says why. ``uncertain``: the call may have
    taken effect on Prolific (a time-out on a call that is not idempotent)."""

    def __init__(self, message: str, *, status: int | None = None, uncertain: bool = False):
        super().__init__(message)
        self.status = status
        self.uncertain = uncertain


class ProlificClient:
    def __init__(
        self,
        token: str,
        base_url: str = "https://api.prolific.com",
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        session: requests.Session | None = None,
        sleep=time.sleep,
    ):
        if not token:
            raise ProlificError("no Prolific API token: set PROLIFIC_API_TOKEN in the settings")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Token {token}", "Accept": "application/json"})

    # -- the endpoints ------------------------------------------------------------------

    def list_submissions(self, study_id: str) -> list[dict]:
        results: list[dict] = []
        url: str | None = self._url("submissions/")
        params: dict | None = {"study": study_id}
        for _ in range(MAX_PAGES):
            if url is None:
                return results
            page = self._call("GET", url, params=params)
            results += page.get("results", [])
            url, params = self._next(page), None
        raise ProlificError(f"more than {MAX_PAGES} pages of submissions: stopped")

    def get_study(self, study_id: str) -> dict:
        return self._call("GET", self._url(f"studies/{study_id}/"))

    def bulk_approve(self, study_id: str, participant_ids: list[str]) -> dict:
        return self._call(
            "POST",
            self._url("submissions/bulk-approve/"),
            json={"study_id": study_id, "participant_ids": list(participant_ids)},
        )

    def reject(self, submission_id: str, category: str, message: str) -> dict:
        return self._call(
            "POST",
            self._url(f"submissions/{submission_id}/transition/"),
            json={"action": "REJECT", "rejection_category": category, "message": message},
        )

    def create_bonuses(self, study_id: str, csv_bonuses: str) -> dict:
        return self._call(
            "POST",
            self._url("submissions/bonus-payments/"),
            json={"study_id": study_id, "csv_bonuses": csv_bonuses},
        )

    def pay_bonuses(self, batch_id: str) -> dict:
        return self._call("POST", self._url(f"bulk-bonus-payments/{batch_id}/pay/"), retry=False)

    # -- plumbing -----------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/api/v1/{path}"

    def _next(self, page: dict) -> str | None:
        link = (page.get("_links") or {}).get("next") or {}
        href = link.get("href") if isinstance(link, dict) else link
        if not href:
            return None
        if urlsplit(href).netloc not in ("", urlsplit(self.base_url).netloc):
            raise ProlificError(f"Prolific's next page points to another host ({href}): refused")
        return href if urlsplit(href).netloc else self.base_url + href

    def _call(self, method: str, url: str, *, params=None, json=None, retry: bool = True) -> dict:
        what = f"{method} {urlsplit(url).path}"
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self.session.request(method, url, params=params, json=json, timeout=self.timeout)
            except requests.Timeout:
                if last:
                    raise ProlificError(
                        f"Prolific did not answer {what} within {self.timeout:g} s "
                        f"({attempts} attempt{'s' if attempts > 1 else ''})"
                        + (
                            "; it may have taken effect: check on Prolific before trying again"
                            if not retry
                            else ""
                        ),
                        uncertain=not retry,
                    ) from None
            except requests.ConnectionError as error:
                if last:
                    raise ProlificError(
                        f"could not reach Prolific for {what}: {error.__class__.__name__}"
                    ) from None
            else:
                if response.status_code in RETRY_STATUSES and not last:
                    self.sleep(self._delay(attempt, response))
                    continue
                return self._parse(what, response)
            self.sleep(self._delay(attempt, None))
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, response) -> float:
        delay = self.backoff * 2**attempt
        if response is not None and response.headers.get("Retry-After", "").isdigit():
            delay = max(delay, min(float(response.headers["Retry-After"]), 30.0))
        return delay

    @staticmethod
    def _parse(what: str, response) -> dict:
        if response.status_code >= 400:
            raise ProlificError(
                f"Prolific refused {what}: HTTP {response.status_code}: {_detail(response)}",
                status=response.status_code,
            )
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise ProlificError(f"Prolific answered {what} with something that is not JSON") from None
        return body if isinstance(body, dict) else {"results": body}


def _detail(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason or "no detail"
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        detail = error.get("detail", error)
        return str(detail)[:300]
    return str(error)[:300]
