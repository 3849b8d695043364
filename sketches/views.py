from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET

from sketches import render
from sketches.models import Sketch
from sketches.staff import staff_required

CACHE_SECONDS = 24 * 3600


# Sketches by id are for signed-in researchers (admin, reports). Participants see stimuli
# through the annotation app's opaque per-trial URLs instead.


@require_GET
@staff_required
def sketch_svg(request, pk: int):
    sketch = get_object_or_404(Sketch.objects.only("strokes", "key_id"), pk=pk)
    etag = quote_etag(f"sketch-{pk}")
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(
            render.svg(sketch.strokes, title=f"sketch {pk}"), content_type="image/svg+xml"
        )
    response["ETag"] = etag
    response["Cache-Control"] = f"private, max-age={CACHE_SECONDS}, immutable"
    return response


@require_GET
@staff_required
def sketch_png(request, pk: int):
    sketch = get_object_or_404(Sketch.objects.only("strokes"), pk=pk)
    raw_size = request.GET.get("size", "256")
    size = min(max(int(raw_size), 32), 1024) if raw_size.isdigit() else 256
    response = HttpResponse(render.png(sketch.strokes, size=size), content_type="image/png")
    response["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    return response
