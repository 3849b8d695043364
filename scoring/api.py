"""Researcher API for scorers: list them, start a training job, start and follow scoring runs.

Both jobs go to the ``gpu`` queue through the same actions as the commands and the admin.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from scoring.actions import TrainingRequest, do_request_training, do_settle_scoring_run, do_start_scoring_run
from scoring.errors import ScoringInputError
from scoring.model_io import DEFAULT_EPOCHS
from scoring.models import Scorer, ScoringRun, Variant


class ScorerSerializer(serializers.ModelSerializer):
    categories = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = Scorer
        fields = [
            "id",
            "name",
            "variant",
            "soft_binning",
            "encoder",
            "categories",
            "status",
            "progress",
            "error",
            "device",
            "training_seconds",
            "checkpoint_sha256",
            "metrics",
            "config",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class TrainingRequestSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=80)
    variant = serializers.ChoiceField(choices=Variant.choices, default=Variant.COS)
    soft_binning = serializers.BooleanField(default=True)
    encoder = serializers.CharField(required=False, max_length=40)
    categories = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=500
    )
    per_category = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)
    epochs = serializers.IntegerField(default=DEFAULT_EPOCHS, min_value=1, max_value=500)
    seed = serializers.IntegerField(default=0, min_value=0, max_value=2**31 - 1)
    device = serializers.ChoiceField(choices=["auto", "cpu", "cuda", "mps"], default="auto")


def refused(error: ScoringInputError) -> Response:
    return Response({"detail": [str(error)]}, status=status.HTTP_400_BAD_REQUEST)


class ScorerViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Trained and training scorers. POST starts a training job (202); poll the scorer for progress."""

    queryset = Scorer.objects.prefetch_related("categories").order_by("-created_at")
    serializer_class = ScorerSerializer
    lookup_field = "name"
    filterset_fields = ["status", "variant"]

    @extend_schema(request=TrainingRequestSerializer, responses={202: ScorerSerializer})
    def create(self, request, *args, **kwargs):
        body = TrainingRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        options = {k: v for k, v in body.validated_data.items() if v is not None}
        try:
            scorer = do_request_training(TrainingRequest(**options), user=request.user)
        except ScoringInputError as error:
            return refused(error)
        return Response(ScorerSerializer(scorer).data, status=status.HTTP_202_ACCEPTED)


class ScoringRunSerializer(serializers.ModelSerializer):
    scorer = serializers.SlugRelatedField(slug_field="name", read_only=True)
    categories = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = ScoringRun
        fields = [
            "id",
            "scorer",
            "categories",
            "status",
            "total",
            "done",
            "errors",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ScoringRunRequestSerializer(serializers.Serializer):
    scorer = serializers.CharField(max_length=80)
    categories = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=500
    )


class ScoringRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Score sketches with a scorer (POST, 202); poll the run for done/total."""

    queryset = (
        ScoringRun.objects.select_related("scorer").prefetch_related("categories").order_by("-created_at")
    )
    serializer_class = ScoringRunSerializer
    filterset_fields = ["status"]

    def retrieve(self, request, *args, **kwargs):
        do_settle_scoring_run(self.get_object())  # on read: a run whose workers died is re-queued
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=ScoringRunRequestSerializer, responses={202: ScoringRunSerializer})
    def create(self, request, *args, **kwargs):
        body = ScoringRunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = do_start_scoring_run(
                body.validated_data["scorer"],
                body.validated_data.get("categories") or None,
                user=request.user,
            )
        except ScoringInputError as error:
            return refused(error)
        run.refresh_from_db()
        return Response(ScoringRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


def register(router) -> None:
    router.register("scorers", ScorerViewSet, basename="scorer")
    router.register("scoring-runs", ScoringRunViewSet, basename="scoring-run")
