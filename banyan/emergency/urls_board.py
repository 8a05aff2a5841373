"""The emergency list and board, under ``/emergency/`` (banyan.emergency.views_board)."""

from django.urls import path

from banyan.emergency import views_board, views_review

urlpatterns = [
    path("", views_board.emergency_list, name="emergencies"),
    path("<int:pk>/", views_board.board, name="board"),
    path("<int:pk>/confirm", views_board.confirm, name="confirm"),
    path("<int:pk>/dismiss", views_board.dismiss, name="dismiss"),
    path("<int:pk>/level", views_board.change_level, name="level"),
    path("<int:pk>/area", views_board.change_area, name="area"),
    path("<int:pk>/stand-down", views_board.stand_down, name="stand-down"),
    path("<int:pk>/review", views_review.review_page, name="review"),
    path("<int:pk>/review.xlsx", views_review.review_xlsx, name="review-xlsx"),
    path("<int:pk>/review.pdf", views_review.review_pdf, name="review-pdf"),
    path("<int:pk>/review/lessons", views_review.lesson_add, name="review-lesson"),
    path("<int:pk>/review/lessons/<int:lesson>/done", views_review.lesson_done, name="review-lesson-done"),
    path("<int:pk>/review/plan", views_review.propose_plan, name="review-plan"),
    path("<int:pk>/review/recovery", views_review.recovery_add, name="review-recovery"),
    path("<int:pk>/review/recovery/<int:task>/done", views_review.recovery_done, name="review-recovery-done"),
    path("tasks/<int:pk>/done", views_board.task_done, name="task-done"),
    path("tasks/<int:pk>/assign", views_board.task_assign, name="task-assign"),
]
