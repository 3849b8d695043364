from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path

from sketches.actions import do_create_import_batch, do_settle_import_batch
from sketches.forms import ImportUploadForm
from sketches.models import Category, ImportBatch, Sketch
from sketches.ownership import is_owner, owned_by
from sketches.staff import ReadOnlyAdminMixin
from sketches.templatetags.sketch_tags import sketch_thumbnail


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
            batch = do_create_import_batch(
                form.cleaned_data["file"],
                category=form.cleaned_data["category"],
                skip_invalid=form.cleaned_data["skip_invalid"],
                user=request.user,
            )
            return redirect("admin:sketches_importbatch_change", batch.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Import sketches",
        }
        return TemplateResponse(request, "admin/sketches/sketch/import.html", context)


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
        "category_name",
        "skip_invalid",
        *ImportBatch.OUTCOME_FIELDS,
        "report",
        "created_by",
        "created_at",
        "finished_at",
    ]
    exclude = ["file", "messages"]

    deletable = True  # add through "Import sketches" on the sketch list

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self.get_object(request, object_id)
        if batch is not None:
            do_settle_import_batch(batch)  # on read: a batch whose worker died is queued again
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request):
        # Uploads are private: file names and reports are the uploader's (superusers: all).
        return owned_by(super().get_queryset(request), request.user).select_related("created_by")

    @admin.display(description="report")
    def report(self, obj):
        return render_to_string("admin/includes/preformatted.html", {"text": "\n".join(obj.messages)})
