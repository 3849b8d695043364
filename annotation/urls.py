from django.urls import path, re_path

from annotation import staff_views, views

app_name = "annotation"
urlpatterns = [
    path("<slug:slug>/", views.entry, name="entry"),
    path("<slug:slug>/task/", views.task, name="task"),
    path("<slug:slug>/consent/", views.consent, name="consent"),
    path("<slug:slug>/instructions/", views.instructions, name="instructions"),
    path("<slug:slug>/break/", views.end_break, name="end_break"),
    path("<slug:slug>/answer/", views.answer, name="answer"),
    re_path(
        r"^(?P<slug>[-\w]+)/s/(?P<token>[-\w]{1,32})/(?P<side>left|right)\.svg$", views.stimulus, name="stimulus"
    ),
    path("<slug:slug>/preview/", staff_views.preview, name="preview"),
]
