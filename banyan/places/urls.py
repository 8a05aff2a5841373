from django.urls import path

from banyan.places import views

app_name = "places"

urlpatterns = [
    path("grids/", views.grid_list, name="grid-list"),
    path("grids/<int:pk>/", views.grid_detail, name="grid-detail"),
    path("buildings/<int:pk>/", views.building_detail, name="building-detail"),
]
