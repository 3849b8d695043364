"""Researcher API for results: participants with their QA, agreement, rankings, exports.

Everything is scoped to the studies the user may see (``Study.objects.visible_to``);
another researcher's study answers 404, as in the pages.
"""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from analysis import exports, live, results, selectors
from analysis.actions import do_refresh_worker_quality, do_request_export, do_settle_export
from analysis.models import ExportJob, ExportStatus, WorkerQuality
from annotation.models import PROGRESS_FIELDS, Participant
from studies import seeds
from studies.api import VisibleStudyField
from studies.models import Study


def visible_studies(request):
    return Study.objects.visible_to(request.user)


class WorkerQualitySerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkerQuality
        exclude = ["id", "participant", "study", "panel_id", "fingerprint"]


class ParticipantSerializer(serializers.ModelSerializer):
    study = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    quality = WorkerQualitySerializer(read_only=True)

    class Meta:
        model = Participant
        fields = [
            "id",
            "study",
            "panel_id",
            "index",
            *PROGRESS_FIELDS,
            "started_at",
            "last_seen_at",
            "completed_at",
            "blocked_at",
            "quality",
        ]


STUDY_PARAM = OpenApiParameter("study", OpenApiTypes.STR, description="Study slug (required).", required=True)


class ParticipantViewSet(viewsets.ReadOnlyModelViewSet):
    """A study's participants with their live screening and QA numbers (``?study=<slug>``)."""

    serializer_class = ParticipantSerializer
    queryset = Participant.objects.none()
    filterset_fields = ["status", "qualified"]
    ordering_fields = ["index", "sentinel_mistakes", "duplicate_agreement", "started_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Participant.objects.none()
        participants = Participant.objects.filter(study__in=visible_studies(self.request))
        slug = self.request.query_params.get("study")
        if slug:
            participants = participants.filter(study__slug=slug)
        return participants.select_related("study", "quality").order_by("study_id", "index")

    @extend_schema(parameters=[STUDY_PARAM])
    def list(self, request, *args, **kwargs):
        slug = request.query_params.get("study")
        if not slug:
            return Response({"detail": "Pass ?study=<slug>."}, status=status.HTTP_400_BAD_REQUEST)
        do_refresh_worker_quality(get_object_or_404(visible_studies(request), slug=slug))
        return super().list(request, *args, **kwargs)


SCOPE_PARAM = OpenApiParameter(
    "scope",
    OpenApiTypes.STR,
    enum=[selectors.ANALYSABLE, selectors.PROVISIONAL, selectors.EVERYONE],
    description="analysable (default): qualified, completed workers; provisional: also those still at it; "
    "all: also blocked and unqualified workers, for comparison.",
)


class ResultsViewSet(viewsets.GenericViewSet):
    """Agreement tables and Bradley–Terry rankings of a study, computed from the answers."""

    lookup_field = "slug"
    queryset = Study.objects.none()
    serializer_class = serializers.Serializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Study.objects.none()
        return visible_studies(self.request)

    def _scope(self) -> str:
        scope = self.request.query_params.get("scope", selectors.ANALYSABLE)
        if scope not in (selectors.ANALYSABLE, selectors.PROVISIONAL, selectors.EVERYONE):
            raise serializers.ValidationError({"scope": f"unknown scope {scope!r}"})
        return scope

    @extend_schema(
        parameters=[SCOPE_PARAM], responses={200: OpenApiResponse(description="Agreement tables.")}
    )
    @action(detail=True, methods=["get"])
    def agreement(self, request, slug=None):
        study, scope = self.get_object(), self._scope()
        result = results.agreement(
            results.load_frame(study, scope),
            seed=seeds.key(study.seed_scheme, "report_agreement", study.seed),
        )
        return Response(
            {
                "study": study.slug,
                "scope": scope,
                "rules": results.RULES,
                "by_method": result.by_method,
                "across_methods": result.across_methods,
                "by_category": result.by_category,
                "by_level": result.cells,
            }
        )

    @extend_schema(
        parameters=[
            SCOPE_PARAM,
            OpenApiParameter("category", OpenApiTypes.STR, description="Category slug."),
        ],
        responses={200: OpenApiResponse(description="BT ranking per category, with τ and ρ against each q.")},
    )
    @action(detail=True, methods=["get"])
    def rankings(self, request, slug=None):
        study, scope = self.get_object(), self._scope()
        categories = study.categories.order_by("name")
        if request.query_params.get("category"):
            categories = categories.filter(slug=request.query_params["category"])
        found = [live.category_ranking(study, category, scope) for category in categories]
        return Response(
            {
                "study": study.slug,
                "scope": scope,
                "rankings": [
                    {
                        "category": r.category.slug,
                        "fit": r.fit,
                        "correlations": r.correlations,
                        "items": r.items,
                    }
                    for r in found
                    if r is not None
                ],
            }
        )


class ExportJobSerializer(serializers.ModelSerializer):
    study = VisibleStudyField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "study",
            "include_excluded",
            "status",
            "sha256",
            "size",
            "summary",
            "error",
            "created_at",
            "finished_at",
            "download_url",
        ]
        read_only_fields = ["status", "sha256", "size", "summary", "error", "created_at", "finished_at"]

    def get_download_url(self, job) -> str | None:
        if job.status != ExportStatus.DONE:
            return None
        return reverse("export-download", args=[job.pk])


class ExportJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Start a report export (zip: raw answers CSV/JSON, tables, figures, HTML report) and follow it."""

    serializer_class = ExportJobSerializer
    queryset = ExportJob.objects.none()
    filterset_fields = ["status"]
    action_permissions = {"download": "view"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExportJob.objects.none()
        return ExportJob.objects.filter(study__in=visible_studies(self.request)).select_related("study")

    def retrieve(self, request, *args, **kwargs):
        do_settle_export(self.get_object())  # on read: an export whose worker died is re-queued
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(responses={202: ExportJobSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = do_request_export(
            serializer.validated_data["study"],
            request.user,
            serializer.validated_data.get("include_excluded", False),
        )
        job.refresh_from_db()
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY, 404: OpenApiResponse()})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        job = self.get_object()
        if job.status != ExportStatus.DONE or not job.file:
            raise Http404("The export has not finished.")
        name = exports.safe_filename(f"{job.study.slug}-report-{job.pk}.zip")
        return FileResponse(
            job.file.open("rb"), as_attachment=True, filename=name, content_type="application/zip"
        )


def register(router) -> None:
    router.register("participants", ParticipantViewSet, basename="participant")
    router.register("results", ResultsViewSet, basename="results")
    router.register("exports", ExportJobViewSet, basename="export")
