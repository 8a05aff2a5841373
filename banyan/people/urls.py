from django.urls import path

from banyan.people import views

app_name = "people"

urlpatterns = [
    path("households/<int:pk>/", views.household_detail, name="household-detail"),
    path("residents/<int:pk>/", views.resident_detail, name="resident-detail"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="resident-reveal"),
]
