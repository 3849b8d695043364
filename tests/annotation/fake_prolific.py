"""A small fake of Prolific's researcher API, served over real HTTP on a free local port.

Prolific is truly outside, so the tests fake it. The fake keeps what a client did (``calls``)
and what it approved, rejected, set up and paid, checks the token and the documented rules
(rejection message ≥ 100 characters, a known category, a bonus CSV of ``id,amount`` lines
naming participants of the study, a batch paid once), and can be told to fail: ``fail(path,
status, times)`` answers ``status`` for the next calls, ``stall(path, seconds, times)`` sleeps
past the client's timeout.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CATEGORIES = {
    "TOO_QUICKLY", "TOO_SLOWLY", "FAILED_INSTRUCTIONS", "INCOMP_LONGITUDINAL", "FAILED_CHECK",
    "LOW_EFFORT", "MALINGERING", "NO_CODE", "BAD_CODE", "NO_DATA", "UNSUPP_DEVICE", "OTHER",
}  # fmt: skip
TOKEN = "fake-prolific-token"


class FakeProlific:
    def __init__(self, study_id: str = "PROLIFIC-STUDY-1", page_size: int = 2):
        self.study_id = study_id
        self.page_size = page_size
        self.submissions: list[dict] = []  # {"id", "participant_id", "status"}
        self.study = {"id": study_id, "status": "ACTIVE", "total_available_places": 10, "places_taken": 0}
        self.calls: list[tuple[str, str, dict | None]] = []
        self.approved: list[str] = []
        self.rejected: list[dict] = []
        self.batches: dict[str, dict] = {}
        self.paid: list[str] = []
        self._failures: dict[str, list[tuple[str, float]]] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, participant_id: str, status: str, submission_id: str | None = None) -> None:
        self.submissions.append(
            {
                "id": submission_id or f"SUB-{participant_id}",
                "participant_id": participant_id,
                "status": status,
            }
        )

    def set_status(self, participant_id: str, status: str) -> None:
        for s in self.submissions:
            if s["participant_id"] == participant_id:
                s["status"] = status

    def fail(self, path_part: str, status: int, times: int = 1) -> None:
        self._failures.setdefault(path_part, []).extend([("status", status)] * times)

    def stall(self, path_part: str, seconds: float, times: int = 1) -> None:
        self._failures.setdefault(path_part, []).extend([("stall", seconds)] * times)

    def calls_to(self, path_part: str) -> int:
        return sum(1 for _, path, _ in self.calls if path_part in path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- the HTTP side ------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict | None = None):
                data = json.dumps(body if body is not None else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with fake._lock:
                    fake.calls.append((method, self.path, body))
                    injected = None
                    for key, queue in fake._failures.items():
                        if key in parts.path and queue:
                            injected = queue.pop(0)
                            break
                if injected and injected[0] == "stall":
                    time.sleep(injected[1])
                    return self._send(200, {"stalled": True})
                if injected:
                    return self._send(injected[1], {"error": {"detail": "injected failure"}})
                if self.headers.get("Authorization") != f"Token {TOKEN}":
                    return self._send(401, {"error": {"detail": "Invalid token."}})
                status, answer = fake.route(method, parts.path, parse_qs(parts.query), body)
                return self._send(status, answer)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        return Handler

    def route(self, method, path, query, body):
        with self._lock:
            if method == "GET" and path == "/api/v1/submissions/":
                if query.get("study", [""])[0] != self.study_id:
                    return 404, {"error": {"detail": "Study not found."}}
                offset = int(query.get("offset", ["0"])[0])
                page = self.submissions[offset : offset + self.page_size]
                following = offset + self.page_size
                next_href = (
                    f"{self.url}/api/v1/submissions/?study={self.study_id}&offset={following}"
                    if following < len(self.submissions)
                    else None
                )
                return 200, {"results": page, "_links": {"next": {"href": next_href}}}
            if method == "GET" and path == f"/api/v1/studies/{self.study_id}/":
                return 200, dict(self.study)
            if method == "POST" and path == "/api/v1/submissions/bulk-approve/":
                known = {s["participant_id"] for s in self.submissions}
                ids = body.get("participant_ids") or []
                if body.get("study_id") != self.study_id or not ids or not set(ids) <= known:
                    return 400, {"error": {"detail": f"Unknown participants: {sorted(set(ids) - known)}"}}
                self.approved += ids
                for s in self.submissions:
                    if s["participant_id"] in ids:
                        s["status"] = "APPROVED"
                return 200, {}
            if method == "POST" and path.endswith("/transition/"):
                sub_id = path.split("/")[-3]
                sub = next((s for s in self.submissions if s["id"] == sub_id), None)
                if sub is None:
                    return 404, {"error": {"detail": "Submission not found."}}
                if body.get("action") != "REJECT" or body.get("rejection_category") not in CATEGORIES:
                    return 400, {"error": {"detail": "rejection_category is required"}}
                if len(body.get("message") or "") < 100:
                    return 400, {"error": {"detail": "message must be at least 100 characters"}}
                if sub["status"] != "REJECTED":
                    self.rejected.append({"id": sub_id, **body})
                sub["status"] = "REJECTED"
                return 200, dict(sub)
            if method == "POST" and path == "/api/v1/submissions/bonus-payments/":
                known = {s["participant_id"] for s in self.submissions}
                lines = [line for line in (body.get("csv_bonuses") or "").split("\n") if line]
                bad = [line for line in lines if line.split(",")[0] not in known or len(line.split(",")) != 2]
                if body.get("study_id") != self.study_id or bad or not lines:
                    return 400, {"error": {"detail": f"Invalid bonus lines: {bad}"}}
                batch_id = f"BONUS-{len(self.batches) + 1}"
                self.batches[batch_id] = {"lines": lines}
                total = sum(round(float(line.split(",")[1]) * 100) for line in lines)
                return 201, {"id": batch_id, "study": self.study_id, "amount": total, "total_amount": total}
            if (
                method == "POST"
                and path.startswith("/api/v1/bulk-bonus-payments/")
                and path.endswith("/pay/")
            ):
                batch_id = path.split("/")[-3]
                if batch_id not in self.batches:
                    return 404, {"error": {"detail": "Bonus payment not found."}}
                self.paid.append(batch_id)  # like Prolific: paying twice pays twice
                return 202, {}
            return 404, {"error": {"detail": f"no route {method} {path}"}}
