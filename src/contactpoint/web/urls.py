from django.urls import path

from contactpoint.web import views

urlpatterns = [
    path("", views.start, name="start"),
]
