from django.urls import path

from analysis import views

app_name = "analysis"
urlpatterns = [
    path("", views.index, name="index"),
    path("studies/<slug:slug>/", views.dashboard, name="dashboard"),
    path("studies/<slug:slug>/rankings/", views.rankings, name="rankings"),
    path("studies/<slug:slug>/rankings/<slug:category>/", views.rankings, name="ranking"),
    path("studies/<slug:slug>/report/", views.report, name="report"),
    path("studies/<slug:slug>/report/status/", views.report_status, name="report_status"),
    path("studies/<slug:slug>/report.zip", views.report_zip, name="report_zip"),
    path("exports/<int:pk>/", views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
