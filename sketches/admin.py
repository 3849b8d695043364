from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from sketches.actions import settle_import_batch
from sketches.forms import ImportUploadForm
from sketches.models import Category, ImportBatch, Sketch
from sketches.ownership import is_owner, owned_by
from sketches.tasks import run_import_batch


def sketch_thumbnail(sketch_id: int, size: int = 64) -> str:
    """An <img> of the sketch's SVG; reused by the other apps' admin pages."""
    url = reverse("sketches:svg", args=[sketch_id])
    return format_html(
        '<img src="{}" width="{}" height="{}" loading="lazy" alt="sketch {}" class="sketch-thumb" '
        'style="background:#fff;border:1px solid #ddd">',
        url,
        size,
        size,
        sketch_id,
    )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "sketch_count"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_sketch_counts()

    # Categories are shared by every study: only superusers add, rename or delete them
    # (imports create them). Researchers read them, whatever model permissions they hold.
    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.display(ordering="sketch_count", description="sketches")
    def sketch_count(self, obj):
        return obj.sketch_count


@admin.register(Sketch)
class SketchAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "id", "category", "source", "key_id", "split", "stroke_count", "point_count"]
    list_display_links = ["thumbnail", "id"]
    list_filter = ["category", "split", "source"]
    search_fields = ["=key_id"]
    list_select_related = ["category"]
    list_per_page = 100
    readonly_fields = [
        "large_thumbnail",
        "category",
        "source",
        "key_id",
        "split",
        "stroke_count",
        "point_count",
        "bbox_min_x",
        "bbox_min_y",
        "bbox_width",
        "bbox_height",
        "countrycode",
        "recognized",
        "drawn_at",
        "import_batch",
        "created_at",
    ]
    exclude = ["strokes", "import_batch"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None or obj.import_batch is None or not is_owner(request.user, obj.import_batch):
            fields.remove("import_batch")  # another researcher's upload: its file name is theirs
        return fields

    def has_add_permission(self, request):
        return False  # sketches arrive through imports only

    @admin.display(description="sketch")
    def thumbnail(self, obj):
        return sketch_thumbnail(obj.pk)

    @admin.display(description="sketch")
    def large_thumbnail(self, obj):
        return sketch_thumbnail(obj.pk, size=320)

    def get_urls(self):
        custom = [
            path("import/", self.admin_site.admin_view(self.import_view), name="sketches_sketch_import"),
        ]
        return custom + super().get_urls()

    def import_view(self, request):
        if not request.user.has_perm("sketches.add_importbatch"):
            messages.error(request, "You may not import sketches.")
            return redirect("admin:sketches_sketch_changelist")
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            batch = ImportBatch(
                filename=upload.name,
                category_name=form.cleaned_data["category"],
                skip_invalid=form.cleaned_data["skip_invalid"],
                created_by=request.user,
            )
            batch.file.save(upload.name, upload, save=False)
            batch.save()
            run_import_batch.delay_on_commit(batch.pk)
            return redirect("admin:sketches_importbatch_change", batch.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Import sketches",
        }
        return TemplateResponse(request, "admin/sketches/sketch/import.html", context)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = [
        "filename",
        "status",
        "n_read",
        "n_new",
        "n_existing",
        "n_skipped",
        "created_by",
        "created_at",
    ]
    list_filter = ["status"]
    readonly_fields = [
        "filename",
        "sha256",
        "category_name",
        "skip_invalid",
        "status",
        "n_read",
        "n_new",
        "n_existing",
        "n_skipped",
        "report",
        "created_by",
        "created_at",
        "finished_at",
    ]
    exclude = ["file", "messages"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self.get_object(request, object_id)
        if batch is not None:
            settle_import_batch(batch)  # on read: a batch whose worker died is queued again
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request):
        # Uploads are private: file names and reports are the uploader's (superusers: all).
        return owned_by(super().get_queryset(request), request.user).select_related("created_by")

    def has_add_permission(self, request):
        return False  # use "Import sketches" on the sketch list

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="report")
    def report(self, obj):
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", "\n".join(obj.messages))
