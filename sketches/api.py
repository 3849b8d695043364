"""Researcher API for the corpus: list and filter sketches, start an import job."""

from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from sketches.actions import CATEGORY_NAME_MAX, do_create_import_batch, do_settle_import_batch
from sketches.forms import ImportUploadForm
from sketches.models import Category, ImportBatch, Sketch
from sketches.ownership import owned_by


class CategorySerializer(serializers.ModelSerializer):
    sketch_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "sketch_count"]


class SketchSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    svg_url = serializers.SerializerMethodField()

    class Meta:
        model = Sketch
        fields = [
            "id",
            "category",
            "source",
            "key_id",
            "split",
            "stroke_count",
            "point_count",
            "countrycode",
            "recognized",
            "drawn_at",
            "svg_url",
        ]

    def get_svg_url(self, obj) -> str:
        return reverse("sketches:svg", args=[obj.pk])


class SketchFilter(filters.FilterSet):
    category = filters.CharFilter(field_name="category__slug")

    class Meta:
        model = Sketch
        fields = ["category", "split", "source", "key_id"]


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Category.objects.with_sketch_counts().order_by("name")
    serializer_class = CategorySerializer
    lookup_field = "slug"


class SketchViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Sketch.objects.select_related("category").order_by("id")
    serializer_class = SketchSerializer
    filterset_class = SketchFilter
    ordering_fields = ["id", "point_count", "stroke_count"]


class ImportBatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "filename",
            "category_name",
            "skip_invalid",
            *ImportBatch.OUTCOME_FIELDS,
            "messages",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    category = serializers.CharField(required=False, allow_blank=True, max_length=CATEGORY_NAME_MAX)
    skip_invalid = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        form = ImportUploadForm(
            data={k: v for k, v in attrs.items() if k != "file"}, files={"file": attrs["file"]}
        )
        if not form.is_valid():
            raise serializers.ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        return form.cleaned_data


class ImportBatchViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Upload a .ndjson or .npz file; the import runs as a job. Poll the batch for its report.

    Your own uploads only: another researcher's batch answers 404, as a missing one does."""

    queryset = ImportBatch.objects.none()
    serializer_class = ImportBatchSerializer
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportBatch.objects.none()
        return owned_by(ImportBatch.objects.all(), self.request.user).order_by("-created_at")

    def retrieve(self, request, *args, **kwargs):
        do_settle_import_batch(self.get_object())  # on read: a batch whose worker died is re-queued
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=ImportUploadSerializer, responses={202: ImportBatchSerializer})
    def create(self, request, *args, **kwargs):
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        batch = do_create_import_batch(
            data["file"],
            category=data.get("category") or "",
            skip_invalid=data.get("skip_invalid", False),
            user=request.user,
        )
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


def register(router) -> None:
    router.register("categories", CategoryViewSet, basename="category")
    router.register("sketches", SketchViewSet, basename="sketch")
    router.register("imports", ImportBatchViewSet, basename="import")
