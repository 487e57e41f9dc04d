from django.urls import path

from . import views

app_name = "feeds"

urlpatterns = [
    path("", views.index, name="index"),
    path("feeds/<slug:slug>/", views.feed_detail, name="detail"),
    path("feeds/<slug:slug>/entries/<int:entry_id>/", views.entry_detail, name="entry"),
]
