from django.urls import path

from contactpoint.api.api import api

urlpatterns = [path("", api.urls)]
