"""The production URLs plus one bench-only baseline: a bare view doing one INSERT.

Only ``bench.trials_server.settings`` routes here; production URLs never include it.
"""

from django.db import connection
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from config.urls import urlpatterns as production

BASELINE_TABLE = "bench_baseline_insert"


@require_POST
def one_insert(request):
    """The floor for a write request on this stack: middleware (CSRF included), one INSERT, a reply."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BASELINE_TABLE} (choice, at) VALUES (%s, now())", [request.POST.get("choice", "")]
        )
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/baseline/", one_insert), *production]
