"""Researcher API for the panel side: outcome codes, submissions, review decisions, Prolific calls.

Under ``/api/prolific/<study slug>/`` (studies the user may see; others answer 404):

* ``GET``: the outcome codes (code, URL, Prolific action and code type) and one row per
  participant (the decisions export: outcome, trials done, analysis decision, panel decision, bonus);
* ``POST review/`` ``{panel_id, kind: analysis|panel|bonus, decision, reason, category, message, amount}``:
  the same actions as the admin's review page (audited);
* ``POST sync/``, ``GET places/``, ``POST send-decisions/``, ``POST pay-bonuses/``: Prolific's API
  (needs ``PROLIFIC_API_TOKEN``); a refused call answers 502 with the reason and changes nothing.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from annotation.actions import ReviewError, do_review
from annotation.models import Participant
from annotation.outcomes import outcome_url
from annotation.prolific import export, sync
from annotation.prolific.client import ProlificError
from annotation.questionnaires import answer_rows
from studies.models import Study
from studies.outcomes import resolve_codes


class ReviewSerializer(serializers.Serializer):
    panel_id = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(choices=["analysis", "panel", "bonus"])
    decision = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=2000)
    category = serializers.CharField(required=False, allow_blank=True, default="")
    message = serializers.CharField(required=False, allow_blank=True, default="")
    amount = serializers.CharField(required=False, default="0")


def codes_of(study: Study) -> list[dict]:
    return [
        {
            "outcome": c.outcome,
            "code": c.code,
            "url": outcome_url(study, c.code, c.url),
            "action": c.action,
            "prolific_code_type": c.prolific_code_type,
        }
        for c in resolve_codes(study).values()
    ]


def prolific_failed(error: ProlificError) -> Response:
    return Response(
        {"detail": [str(error)], "uncertain": error.uncertain, "changed": False},
        status=status.HTTP_502_BAD_GATEWAY,
    )


class ProlificViewSet(viewsets.ViewSet):
    # Reading codes and submissions needs "view study"; every decision or panel call needs "change study".
    permission_model = Study
    lookup_field = "slug"
    lookup_value_regex = r"[-\w]+"

    def _study(self, slug) -> Study:
        return get_object_or_404(Study.objects.visible_to(self.request.user), slug=slug)

    @extend_schema(responses={200: OpenApiResponse(description="Outcome codes and the submissions export.")})
    def retrieve(self, request, slug=None):
        study = self._study(slug)
        return Response(
            {
                "study": study.slug,
                "codes": codes_of(study),
                "submissions": export.submission_rows(study),
                "questionnaire": answer_rows(study),
            }
        )

    @extend_schema(
        request=ReviewSerializer, responses={200: OpenApiResponse(description="The recorded decision.")}
    )
    @action(detail=True, methods=["post"])
    def review(self, request, slug=None):
        study = self._study(slug)
        form = ReviewSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        participant = get_object_or_404(Participant, study=study, panel_id=data["panel_id"])
        try:
            do_review(participant, data["kind"], data, request.user)
        except ReviewError as error:
            return Response({"detail": error.messages}, status=status.HTTP_400_BAD_REQUEST)
        row = next(r for r in export.submission_rows(study) if r["participant_id"] == participant.panel_id)
        return Response(row)

    def _call(self, slug, run) -> Response:
        study = self._study(slug)
        try:
            result = run(study)
        except ProlificError as error:
            return prolific_failed(error)
        return Response(result.as_dict() if hasattr(result, "as_dict") else result)

    @extend_schema(request=None, responses={200: OpenApiResponse(description="What the sync found.")})
    @action(detail=True, methods=["post"])
    def sync(self, request, slug=None):
        return self._call(slug, sync.do_sync_submissions)

    @extend_schema(responses={200: OpenApiResponse(description="Prolific's status and places.")})
    @action(detail=True, methods=["get"])
    def places(self, request, slug=None):
        return self._call(slug, sync.do_read_study)

    @extend_schema(request=None, responses={200: OpenApiResponse(description="Approved, rejected, errors.")})
    @action(detail=True, methods=["post"], url_path="send-decisions")
    def send_decisions(self, request, slug=None):
        return self._call(slug, sync.do_send_decisions)

    @extend_schema(request=None, responses={200: OpenApiResponse(description="Paid ids, total, batch.")})
    @action(detail=True, methods=["post"], url_path="pay-bonuses")
    def pay_bonuses(self, request, slug=None):
        return self._call(slug, sync.do_pay_bonuses)


def register(router) -> None:
    router.register("prolific", ProlificViewSet, basename="prolific")
