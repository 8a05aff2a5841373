"""Shelters and supplies, under ``/emergency/`` (names in the "emergency" namespace)."""

from django.urls import path

from banyan.emergency.shelters import views

urlpatterns = [
    path("shelters/", views.shelter_list, name="shelter-list"),
    path("shelters/<int:pk>/", views.shelter_detail, name="shelter-detail"),
    path("shelters/<int:pk>/check-in", views.check_in, name="shelter-check-in"),
    path("shelters/<int:pk>/open", views.shelter_open, name="shelter-open"),
    path("shelters/<int:pk>/close", views.shelter_close, name="shelter-close"),
    path("shelters/stays/<int:pk>/check-out", views.check_out, name="shelter-check-out"),
    path("supplies/", views.supplies, name="supplies"),
    path("supplies/<int:pk>/", views.stock_detail, name="stock-detail"),
    path("supplies/<int:pk>/move", views.stock_move, name="stock-move"),
]
