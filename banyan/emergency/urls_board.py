"""The emergency list and board, under ``/emergency/`` (banyan.emergency.views_board)."""

from django.urls import path

from banyan.emergency import views_board

urlpatterns = [
    path("", views_board.emergency_list, name="emergencies"),
    path("<int:pk>/", views_board.board, name="board"),
    path("<int:pk>/confirm", views_board.confirm, name="confirm"),
    path("<int:pk>/dismiss", views_board.dismiss, name="dismiss"),
    path("<int:pk>/level", views_board.change_level, name="level"),
    path("<int:pk>/area", views_board.change_area, name="area"),
    path("<int:pk>/stand-down", views_board.stand_down, name="stand-down"),
    path("tasks/<int:pk>/done", views_board.task_done, name="task-done"),
    path("tasks/<int:pk>/assign", views_board.task_assign, name="task-assign"),
]
