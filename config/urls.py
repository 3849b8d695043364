from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from config import admin_order, views

admin.site.site_header = "SketchQ"
admin.site.site_title = "SketchQ"
admin.site.index_title = "Research console"
admin_order.install(admin.site)

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("favicon.ico", RedirectView.as_view(url=static("sketchq/favicon.svg"), permanent=True)),
    path("healthz/", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("sketches/", include("sketches.urls")),
    path("scoring/", include("scoring.urls")),
    path("p/", include("annotation.urls")),
    path("analysis/", include("analysis.urls")),
    path("api/", include("config.api_urls")),
]
