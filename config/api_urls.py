"""The researcher REST API under /api/: one router, each app registers its viewsets."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

import analysis.api
import annotation.api
import scoring.api
import sketches.api
import studies.api
from config.api_auth import obtain_auth_token

router = DefaultRouter()
sketches.api.register(router)
scoring.api.register(router)
studies.api.register(router)
analysis.api.register(router)
annotation.api.register(router)

urlpatterns = [
    path("", include(router.urls)),
    path("token/", obtain_auth_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="api-schema"),
    # The split view serves Swagger UI's init script as its own URL, so the CSP needs no inline script.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
]
