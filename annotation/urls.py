from django.urls import path, re_path

from annotation import staff_views, views
from annotation.ratelimit import entry_rate_limited as entry_limited
from annotation.ratelimit import participant_rate_limited as limited

app_name = "annotation"
urlpatterns = [
    path("<slug:slug>/", limited(views.entry), name="entry"),
    path("<slug:slug>/task/", limited(views.task), name="task"),
    path("<slug:slug>/consent/", limited(views.consent), name="consent"),
    path("<slug:slug>/instructions/", limited(views.instructions), name="instructions"),
    path("<slug:slug>/break/", limited(views.end_break), name="end_break"),
    path("<slug:slug>/questions/", limited(views.questions), name="questions"),
    path("<slug:slug>/answer/", entry_limited(views.answer), name="answer"),  # counts in the row
    re_path(
        r"^(?P<slug>[-\w]+)/s/(?P<token>[-\w]{1,32})/(?P<side>left|right|third|fourth)\.svg$",
        limited(views.stimulus),
        name="stimulus",
    ),
    path("<slug:slug>/preview/", staff_views.preview, name="preview"),
]
