"""URLs of the kitchen display screens, included at /kds/ (kitchen/screens.py).

    /kds/                                    pair this screen, or go to its station
    /kds/pair/                               POST: a signed-in manager pairs it as a station
    /kds/expo/                               the expo (pass) screen
    /kds/expo/snapshot                       GET: open orders with each station's progress
    /kds/expo/orders/<check>/serve           POST {"send": n}: the order went out
    /kds/<station>/                          a station's screen
    /kds/<station>/snapshot                  GET: open tickets, recently bumped, all-day
    /kds/<station>/recall                    POST: recall the last bumped ticket
    /kds/<station>/tickets/<id>/bump|start|recall|ack    POST
    /kds/<station>/items/<id>/status         POST {"status": "new"|"cooking"|"ready"}

"pair" and "expo" are reserved: a station with one of those slugs is reached through /kds/.
"""

from django.urls import path

from kitchen import screens

app_name = "kds"

STATION = "<slug:station>"
TICKET = f"{STATION}/tickets/<int:ticket_id>"

urlpatterns = [
    path("", screens.home, name="home"),
    path("pair/", screens.pair_station, name="pair"),
    path("expo/", screens.expo_screen, name="expo"),
    path("expo/snapshot", screens.expo_snapshot_view, name="expo-snapshot"),
    path("expo/orders/<int:check_id>/ready", screens.order_ready, name="expo-ready"),
    path("expo/orders/<int:check_id>/serve", screens.order_serve, name="expo-serve"),
    path(f"{STATION}/", screens.station_screen, name="station"),
    path(f"{STATION}/snapshot", screens.snapshot, name="snapshot"),
    path(f"{STATION}/recall", screens.recall_last, name="recall-last"),
    path(f"{TICKET}/bump", screens.ticket_bump, name="ticket-bump"),
    path(f"{TICKET}/start", screens.ticket_start, name="ticket-start"),
    path(f"{TICKET}/recall", screens.ticket_recall, name="ticket-recall"),
    path(f"{TICKET}/ack", screens.ticket_ack, name="ticket-ack"),
    path(f"{STATION}/items/<int:item_id>/status", screens.item_status, name="item-status"),
]
