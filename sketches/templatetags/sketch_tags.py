"""``{% load sketch_tags %}{% sketch_thumbnail sketch_id 64 %}``: a sketch's SVG as a thumbnail.

The one thumbnail of SketchQ's staff pages: the admin of every app (through the same function
in Python, for ``list_display``) and the analysis pages. The markup is in
``templates/sketches/thumbnail.html``; the image is staff-only (``/sketches/<id>.svg``).
"""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def sketch_thumbnail(sketch_id: int, size: int = 64) -> SafeString:
    context = {"url": reverse("sketches:svg", args=[sketch_id]), "size": size, "sketch_id": sketch_id}
    return render_to_string("sketches/thumbnail.html", context)
