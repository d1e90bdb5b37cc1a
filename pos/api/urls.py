"""The /api/v1/ JSON API (pos/api/views.py); described by /api/v1/openapi.json.

Every route here is in the OpenAPI document with the same methods (tests/pos/test_api_openapi.py
checks both ways). Anything else under /api/v1/ is a JSON 404.
"""

from django.urls import path, re_path, register_converter

from pos.api import app
from pos.api import payments as pay
from pos.api import views as v
from pos.api.http import IdConverter, route, unknown_endpoint

app_name = "api"

register_converter(IdConverter, "api_id")

CHECK = "checks/<api_id:check_id>"

urlpatterns = [
    *app.urls(),
    path("menus", route(get=v.menus), name="menus"),
    path("floor", route(get=v.floor), name="floor"),
    path("events", route(get=v.events), name="events"),
    path("checks", route(get=v.checks_list, post=v.checks_create), name="checks"),
    path(CHECK, route(get=v.check_detail), name="check"),
    path(f"{CHECK}/lines", route(post=v.line_add), name="check-lines"),
    path(f"{CHECK}/lines/<api_id:line_id>", route(patch=v.line_update), name="check-line"),
    path(f"{CHECK}/lines/<api_id:line_id>/void", route(post=v.line_void), name="check-line-void"),
    path(f"{CHECK}/send", route(post=v.send), name="check-send"),
    path(f"{CHECK}/fire", route(post=v.fire), name="check-fire"),
    path(f"{CHECK}/adjustments", route(post=v.adjustment_add), name="check-adjustments"),
    path(
        f"{CHECK}/adjustments/<api_id:adjustment_id>",
        route(delete=v.adjustment_remove),
        name="check-adjustment",
    ),
    path(f"{CHECK}/move-seat", route(post=v.move_seat), name="check-move-seat"),
    path(f"{CHECK}/transfer", route(post=v.transfer), name="check-transfer"),
    path(f"{CHECK}/merge", route(post=v.merge), name="check-merge"),
    path(f"{CHECK}/guests", route(post=v.guests), name="check-guests"),
    path(f"{CHECK}/prebill", route(post=v.prebill), name="check-prebill"),
    path(f"{CHECK}/bill", route(get=pay.bill), name="check-bill"),
    path(f"{CHECK}/bill/split", route(post=pay.bill_split), name="check-bill-split"),
    path(
        f"{CHECK}/bill/parts/<api_id:part_id>/split",
        route(post=pay.part_split),
        name="check-bill-part-split",
    ),
    path(f"{CHECK}/payments", route(post=pay.payment_create), name="check-payments"),
    path(f"{CHECK}/close", route(post=pay.bill_close), name="check-close"),
    path(f"{CHECK}/reopen", route(post=pay.reopen), name="check-reopen"),
    path(f"{CHECK}/receipts", route(post=pay.receipt_create), name="check-receipts"),
    path(f"{CHECK}/card-payments", route(post=pay.card_payment_create), name="check-card-payments"),
    path("card-payments/<api_id:payment_id>", route(get=pay.card_payment), name="card-payment"),
    path(
        "card-payments/<api_id:payment_id>/retry",
        route(post=pay.card_payment_retry),
        name="card-payment-retry",
    ),
    path(
        "card-payments/<api_id:payment_id>/cancel",
        route(post=pay.card_payment_cancel),
        name="card-payment-cancel",
    ),
    path(
        "card-payments/<api_id:payment_id>/capture",
        route(post=pay.card_payment_capture),
        name="card-payment-capture",
    ),
    path(
        "payments/<api_id:payment_id>/refunds",
        route(post=pay.payment_refund),
        name="payment-refunds",
    ),
    path("readers", route(get=pay.readers), name="readers"),
    path(
        "terminal/connection-token",
        route(post=pay.connection_token),
        name="terminal-connection-token",
    ),
    path("terminal/location", route(get=pay.terminal_location), name="terminal-location"),
    path("drawers", route(get=pay.drawers), name="drawers"),
    path("drawers/<api_id:drawer_id>/open", route(post=pay.drawer_open), name="drawer-open"),
    path(
        "drawer-sessions/<api_id:session_id>",
        route(get=pay.drawer_session),
        name="drawer-session",
    ),
    path(
        "drawer-sessions/<api_id:session_id>/movements",
        route(post=pay.drawer_movement),
        name="drawer-session-movements",
    ),
    path(
        "drawer-sessions/<api_id:session_id>/close",
        route(post=pay.drawer_close),
        name="drawer-session-close",
    ),
    path(
        "items/<api_id:item_id>/availability",
        route(post=v.item_availability),
        name="item-availability",
    ),
    path(
        "modifiers/<api_id:modifier_id>/availability",
        route(post=v.modifier_availability),
        name="modifier-availability",
    ),
    re_path(r"^[\s\S]*$", unknown_endpoint, name="unknown"),  # any path, newlines too
]
