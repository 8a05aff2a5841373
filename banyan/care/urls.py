from django.urls import path

from banyan.care import board_views, circle_views, views, visit_views

app_name = "care"

urlpatterns = [
    path("checkin", views.checkin_self, name="checkin"),
    path("residents/<int:pk>/checkin", views.resident_checkin, name="resident-checkin"),
    path("residents/<int:pk>/plan", views.plan_create, name="plan-create"),
    path("plans/", views.attention, name="attention"),
    path("plans/all", views.plan_create_all, name="plan-create-all"),
    path("today/", board_views.board, name="board"),
    path("residents/<int:pk>/send", board_views.send, name="send"),
    path("plans/<int:pk>/", views.plan_edit, name="plan-edit"),
    path("cared-for/<int:pk>/checkin", circle_views.proxy_checkin, name="proxy-checkin"),
    path("visits/<int:pk>/", visit_views.visit, name="visit"),
    path("visits/photos/<int:pk>", visit_views.visit_photo, name="visit-photo"),
]
