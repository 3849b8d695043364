from django.urls import path

from sketches import views

app_name = "sketches"
urlpatterns = [
    path("<int:pk>.svg", views.sketch_svg, name="svg"),
    path("<int:pk>.png", views.sketch_png, name="png"),
]
