"""The kitchen display screens' pages, included at /kds/ (kitchen/screens.py).

    /kds/                 pair this screen, or go to its station
    /kds/pair/            POST: a signed-in manager pairs it as a station
    /kds/expo/            the expo (pass) screen
    /kds/<station>/       a station's screen

"pair" and "expo" are reserved: a station with one of those slugs is reached through /kds/.
The screens' JSON calls (snapshots, bump, start, recall, item status, acknowledge, the expo's
ready and serve) are on the API under /api/v1/kitchen/ (kitchen/api.py).
"""

from django.urls import path

from kitchen import screens

app_name = "kds"

urlpatterns = [
    path("", screens.home, name="home"),
    path("pair/", screens.pair_station, name="pair"),
    path("expo/", screens.expo_screen, name="expo"),
    path("<slug:station>/", screens.station_screen, name="station"),
]
