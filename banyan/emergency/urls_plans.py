"""The hazard register and the plans, under ``/emergency/``."""

from django.urls import path

from banyan.emergency import views_plans

urlpatterns = [
    path("hazards/", views_plans.hazard_list, name="hazard-list"),
    path("hazards/<int:pk>/", views_plans.hazard_detail, name="hazard-detail"),
    path("hazards/<int:pk>/review", views_plans.hazard_review, name="hazard-review"),
    path("plans/", views_plans.plan_list, name="plan-list"),
    path("plans/<int:pk>/", views_plans.plan_detail, name="plan-detail"),
    path("plans/<int:pk>/edit", views_plans.plan_edit, name="plan-edit"),
]
