"""Researcher API for studies: CRUD, plan preview, and the lifecycle actions.

Every state change calls the same action function as the admin; a refused action
answers 400 with the action's messages and writes nothing.
"""

from __future__ import annotations

import copy

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from scoring.models import Scorer
from sketches.models import Category
from studies import checks, entry_links, feasibility, lifecycle, planning, power
from studies.errors import StudyConfigError
from studies.models import Study


class VisibleStudyField(serializers.SlugRelatedField):
    """A study by slug, among those the user may see: another researcher's study gets the
    same "does not exist" as a missing one, so the answer never tells whether it exists."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", queryset=Study.objects.none(), **kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return Study.objects.none()
        return Study.objects.visible_to(request.user)


class StudySerializer(serializers.ModelSerializer):
    categories = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=Category.objects.all())
    scorers = serializers.SlugRelatedField(slug_field="name", many=True, queryset=Scorer.objects.all())
    qualification_study = VisibleStudyField(required=False, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Study
        exclude = ["id", "shared_with", "paused_from", "entry_secret"]
        read_only_fields = [
            "state",
            "plan_summary",
            "plan_frozen_at",
            "created_at",
            "launched_at",
            "closed_at",
            "owner",
        ]

    def validate(self, attrs):
        study = self.instance
        draft = copy.copy(study) if study is not None else Study()
        for name, value in attrs.items():
            if name not in ("categories", "scorers"):
                setattr(draft, name, value)
        _, problems = checks.study_edges(draft)
        if problems:
            raise ValidationError({"level_edges": problems})
        problems = checks.trial_type_problems(draft)
        if problems:
            raise ValidationError({"trial_type": problems})
        problems = checks.trial_list_problems(draft)
        if problems:
            raise ValidationError({"trials_per_participant": problems})
        if study is not None:
            locked = lifecycle.locked_fields(study)
            changed = sorted(name for name in attrs if name in locked)
            if changed:
                raise ValidationError(
                    {
                        name: [f"cannot change once the study is {study.state} with a frozen plan"]
                        for name in changed
                    }
                )
        return attrs


class LaunchSerializer(serializers.Serializer):
    pilot = serializers.BooleanField(default=False, help_text="Launch as a pilot instead of live.")
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        default="",
        help_text="Why to launch live although a compared scorer fails (or lacks) its sanity report; "
        "recorded in the plan summary. Without it such a live launch is refused.",
    )


class EntryLinksSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.CharField(max_length=entry_links.MAX_PANEL_ID),
        min_length=1,
        max_length=10_000,
        help_text="Participant ids of your panel; each gets its own signed link.",
    )


ENTRY_LINKS = inline_serializer(
    "EntryLinks",
    {
        "study": serializers.CharField(),
        "required": serializers.BooleanField(),
        "links": serializers.ListField(child=serializers.DictField(child=serializers.CharField())),
    },
)


class FitSerializer(serializers.Serializer):
    apply = serializers.BooleanField(
        default=False, help_text="Save the proposal (drafts without a frozen plan)."
    )


class CloneSerializer(serializers.Serializer):
    slug = serializers.SlugField(required=False, max_length=80)
    name = serializers.CharField(required=False, max_length=200)


MESSAGES = inline_serializer(
    "ActionRefused", {"detail": serializers.ListField(child=serializers.CharField())}
)


def refused(error: StudyConfigError) -> Response:
    return Response({"detail": error.messages}, status=status.HTTP_400_BAD_REQUEST)


class StudyViewSet(viewsets.ModelViewSet):
    """Studies you own or that are shared with you (superusers see all)."""

    serializer_class = StudySerializer
    lookup_field = "slug"
    filterset_fields = ["state", "panel"]
    ordering_fields = ["created_at", "name"]

    queryset = Study.objects.none()  # the real one depends on the user, below
    #: Model permissions of the extra actions (config.api_permissions), as in the admin's buttons.
    action_permissions = {
        "plan": "view",
        "freeze": "change",
        "launch": "change",
        "pause": "change",
        "resume": "change",
        "close": "change",
        "clone": "add",
        "entry_links": "change",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Study.objects.none()
        return (
            Study.objects.visible_to(self.request.user)
            .select_related("owner", "qualification_study")
            .prefetch_related("categories", "scorers")
            .order_by("-created_at")
        )

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)

    def destroy(self, request, *args, **kwargs):
        study = self.get_object()
        try:
            lifecycle.do_delete_study(study)
        except StudyConfigError as error:
            return Response({"detail": error.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _act(self, verb, *args, **kwargs) -> Response:
        study = self.get_object()
        try:
            result = verb(study, *args, **kwargs)
        except StudyConfigError as error:
            return refused(error)
        target = result if isinstance(result, Study) else study
        target.refresh_from_db()
        return Response(StudySerializer(target, context=self.get_serializer_context()).data)

    @extend_schema(
        responses={
            200: OpenApiResponse(
                description="The plan summary (a dry run if not frozen) and, under `power`, the planner's "
                "expected interval widths; under `feasible`, the largest feasible value of each size. Query parameters override its assumptions: participants, "
                "regular_trials, scale, shape, icc, analysed_share, target_width."
            ),
            400: MESSAGES,
        }
    )
    @action(detail=True, methods=["get"])
    def plan(self, request, slug=None):
        study = self.get_object()
        assumptions, errors = power.parse_assumptions(request.query_params)
        if errors:
            return Response({"messages": errors}, status=400)
        summary = planning.preview_plan(study)
        return Response(
            {
                **summary,
                "feasible": feasibility.feasible_sizes(study),
                "power": planning.power_plan(study, summary, **assumptions),
            }
        )

    @extend_schema(
        request=FitSerializer,
        responses={
            200: OpenApiResponse(description="The proposed configuration and what changes."),
            400: MESSAGES,
        },
    )
    @action(detail=True, methods=["post"])
    def fit(self, request, slug=None):
        """Propose a configuration that fits the data (``apply: true`` saves it on a draft)."""
        options = FitSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        study = self.get_object()
        try:
            if options.validated_data["apply"]:
                values, notes = feasibility.do_fit_to_data(study)
            else:
                values, notes = feasibility.propose_fit(study)
        except StudyConfigError as error:
            return refused(error)
        problems = [] if options.validated_data["apply"] else feasibility.check_proposal(study, values)
        return Response(
            {
                "proposal": values,
                "changes": notes,
                "problems": problems,
                "applied": options.validated_data["apply"],
            }
        )

    @extend_schema(request=None, responses={200: StudySerializer, 400: MESSAGES})
    @action(detail=True, methods=["post"])
    def freeze(self, request, slug=None):
        return self._act(planning.do_freeze_plan)

    @extend_schema(request=LaunchSerializer, responses={200: StudySerializer, 400: MESSAGES})
    @action(detail=True, methods=["post"])
    def launch(self, request, slug=None):
        options = LaunchSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        return self._act(
            lifecycle.do_launch_study,
            pilot=options.validated_data["pilot"],
            override_reason=options.validated_data["override_reason"],
            user=request.user,
        )

    @extend_schema(request=None, responses={200: StudySerializer, 400: MESSAGES})
    @action(detail=True, methods=["post"])
    def pause(self, request, slug=None):
        return self._act(lifecycle.do_pause_study)

    @extend_schema(request=None, responses={200: StudySerializer, 400: MESSAGES})
    @action(detail=True, methods=["post"])
    def resume(self, request, slug=None):
        return self._act(lifecycle.do_resume_study)

    @extend_schema(request=None, responses={200: StudySerializer, 400: MESSAGES})
    @action(detail=True, methods=["post"])
    def close(self, request, slug=None):
        return self._act(lifecycle.do_close_study)

    @extend_schema(request=EntryLinksSerializer, responses={200: ENTRY_LINKS, 400: MESSAGES})
    @action(detail=True, methods=["post"], url_path="entry-links")
    def entry_links(self, request, slug=None):
        """Signed entry links for a generic panel (``?pid=…&sig=…``), one per participant id."""
        study = self.get_object()
        body = EntryLinksSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        url = request.build_absolute_uri(reverse("annotation:entry", args=[study.slug]))
        try:
            links = entry_links.signed_links(study.entry_secret, study.pk, url, body.validated_data["ids"])
        except ValueError as error:
            return Response({"detail": [str(error)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "study": study.slug,
                "required": study.require_signed_entry,
                "links": [{"pid": pid, "url": link} for pid, link in links],
            }
        )

    @extend_schema(request=CloneSerializer, responses={201: StudySerializer, 400: MESSAGES})
    @action(detail=True, methods=["post"])
    def clone(self, request, slug=None):
        options = CloneSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        study = self.get_object()
        try:
            clone = lifecycle.do_clone_study(study, owner=request.user, **options.validated_data)
        except StudyConfigError as error:
            return refused(error)
        return Response(StudySerializer(clone, context=self.get_serializer_context()).data, status=201)


def register(router) -> None:
    router.register("studies", StudyViewSet, basename="study")
