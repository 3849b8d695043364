from django.urls import path

from scoring import views

app_name = "scoring"
urlpatterns = [
    path("scorers/<int:pk>/q-theta.<str:fmt>", views.scorer_figure, name="figure"),
    path("scorers/<int:pk>/sanity.<str:fmt>", views.sanity_figure, name="sanity_figure"),
    path("scorers/<int:pk>/progress/", views.scorer_progress, name="scorer_progress"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
]
