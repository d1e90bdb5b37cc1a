"""Kitchen ticket printing: rendering, code pages, durable jobs, the worker over real TCP.

The printers are real sockets on 127.0.0.1: the virtual printer (kitchen/virtual_printer.py)
listens on a free port in a background thread, and "offline" is a port nobody listens on.
The worker runs in the test's thread, on the test's database connection.
"""

from __future__ import annotations

import io
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import include, path, reverse
from django.utils import timezone

from kitchen import services as kitchen
from kitchen.models import PrintJob, Ticket
from kitchen.print_worker import (
    backoff_seconds,
    print_job_claim,
    print_jobs_recover,
    print_jobs_run,
    print_jobs_run_once,
)
from kitchen.printing import (
    code_page,
    encode_text,
    print_job_reprint,
    print_job_retry,
    ticket_print,
)
from kitchen.virtual_printer import VirtualPrinter, decode_escpos, parse_escpos, parse_ports
from orders.models import OrderLine
from orders.services import check_open, line_add
from restaurant.errors import PermissionDenied
from restaurant.models import StaffMember
from tests.factories import (
    CategoryFactory,
    MenuItemFactory,
    ModifierFactory,
    ModifierGroupFactory,
    PrinterFactory,
    StaffFactory,
    StationFactory,
    TableFactory,
    UserFactory,
    VenueFactory,
    attach,
)

Status = PrintJob.Status

# The printouts page is tested here before restaurant/urls.py includes kitchen.urls.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("kitchen/", include("kitchen.urls")),
]

EURO_CP858 = b"\xd5"
E_ACUTE_CP858 = b"\x82"
SELECT_CP858 = b"\x1bt\x13"  # ESC t 19


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def print_settings(settings, tmp_path):
    settings.PRINT_SOCKET_TIMEOUT = 2
    settings.PRINT_MAX_ATTEMPTS = 3
    settings.PRINT_RETRY_BASE_SECONDS = 2
    settings.PRINT_RETRY_MAX_SECONDS = 60
    settings.PRINT_GIVE_UP_SECONDS = 600
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


@pytest.fixture
def printers(tmp_path):
    """A virtual printer in a background thread, on a free port (more: printers.add())."""
    started: list[VirtualPrinter] = []

    def add(*ports: int) -> VirtualPrinter:
        printer = VirtualPrinter(ports or [0], directory=tmp_path / "printouts").start()
        assert printer.ports, printer.failed_ports
        started.append(printer)
        return printer

    yield add
    for printer in started:
        printer.stop()


@pytest.fixture
def world(db):
    venue = VenueFactory(name="Bistro", timezone="Europe/Amsterdam")
    kitchen_printer = PrinterFactory(venue=venue, name="Kitchen printer", port=free_port())
    grill = StationFactory(
        venue=venue, slug="grill", name="Grill", printer=kitchen_printer, print_tickets=True
    )
    screen_only = StationFactory(venue=venue, slug="cold", name="Cold", print_tickets=False)
    server = StaffFactory(venue=venue, role=StaffMember.Role.SERVER, display_name="Sam")
    manager = StaffFactory(venue=venue, role=StaffMember.Role.MANAGER, display_name="Max")
    mains = CategoryFactory(venue=venue, default_station=grill)
    starters = CategoryFactory(venue=venue, default_station=screen_only)
    steak = MenuItemFactory(venue=venue, category=mains, name="Steak frites")
    creme = MenuItemFactory(venue=venue, category=mains, name="Crème brûlée", default_course=2)
    soup = MenuItemFactory(venue=venue, category=starters, name="Soup")
    doneness = ModifierGroupFactory(venue=venue, name="Doneness")
    sauces = ModifierGroupFactory(venue=venue, name="Sauce")
    medium_rare = ModifierFactory(group=doneness, name="Medium rare", nested_group=sauces)
    pepper = ModifierFactory(group=sauces, name="Pepper sauce")
    attach(steak, doneness)
    tab = check_open(
        venue=venue,
        actor=server,
        kind="table",
        table=TableFactory(venue=venue, name="12"),
        guest_count=3,
    )
    return locals()


def order(world, *, with_dessert=True) -> list[Ticket]:
    w = world
    line_add(
        tab=w["tab"],
        actor=w["server"],
        item=w["steak"],
        seat=1,
        quantity=2,
        note="NUT ALLERGY",
        modifiers=[{"modifier": w["medium_rare"].pk, "choices": [{"modifier": w["pepper"].pk}]}],
    )
    if with_dessert:
        line_add(tab=w["tab"], actor=w["server"], item=w["creme"], seat=2, note="€5 candle")
    line_add(tab=w["tab"], actor=w["server"], item=w["soup"], seat=3)
    return kitchen.lines_send(tab=w["tab"], actor=w["server"]).tickets


def only_job() -> PrintJob:
    (job,) = PrintJob.objects.all()
    return job


# --- Rendering ---------------------------------------------------------------------------------


def test_ticket_shows_what_the_cooks_need(world):
    order(world)
    job = only_job()
    text = decode_escpos(bytes(job.payload), job.code_page)
    lines = text.splitlines()
    assert "[BIG]**GRILL**[/BIG]" in lines[0] and lines[0].startswith(" ")  # centred
    assert "[BIG]**ORDER**[/BIG]" in lines[1]
    assert "Table 12" in text and f"#{world['tab'].number}" in text
    assert "Server: Sam" in text and "Guests: 3" in text
    local = timezone.localtime(job.ticket.created_at, world["venue"].tzinfo)
    assert local.strftime("%Y-%m-%d %H:%M") in text  # the venue's time, not UTC
    # course 1 fired, course 2 held; modifiers indented, nested deeper; notes in bold
    course_1, hold = text.index("**Course 1**"), text.index("HOLD - course 2")
    assert course_1 < text.index("2 x Steak frites") < hold < text.index("1 x Crème brûlée")
    assert "[INVERTED]**HOLD - course 2**[/INVERTED]" in text
    assert "\n  Medium rare\n" in text and "\n    Pepper sauce\n" in text
    assert "**!! NUT ALLERGY**" in text
    assert "S1**" in text and "S2**" in text  # seats
    assert "Soup" not in text  # the cold station does not print
    assert lines[-1].strip("-") == " cut "
    assert job.kind == PrintJob.Kind.ORDER and job.status == Status.PENDING


def test_euro_and_accents_round_trip_in_cp858(world):
    order(world)
    payload = bytes(only_job().payload)
    # the code page is chosen once, explicitly, right after ESC @, never guessed by escpos
    assert payload.startswith(b"\x1b@" + SELECT_CP858)
    assert payload.count(b"\x1bt") == 1
    assert "Crème brûlée".encode("cp858") in payload
    assert EURO_CP858 + b"5 candle" in payload
    assert E_ACUTE_CP858 in payload and "é".encode() not in payload  # not UTF-8
    text = decode_escpos(payload, "CP858")
    assert "Crème brûlée" in text and "€5 candle" in text


def test_other_code_pages_and_characters_they_lack():
    cp1252 = code_page("cp1252")
    assert cp1252.number == 16 and cp1252.select == b"\x1bt\x10"
    assert encode_text("€ é", cp1252) == b"\x80 \xe9"
    cp437 = code_page("PC437")
    assert encode_text("€ — ą é", cp437) == b"? - a \x82"  # no euro in CP437
    assert code_page("nonsense").name == "CP858"  # an unknown name falls back to CP858
    # a switch of table in the stream is followed by the decoder
    data = b"\x1b@\x1bt\x10\x80\n\x1bt\x13\xd5\n"
    assert decode_escpos(data, "CP437") == "€\n€\n"


def test_decoder_shows_styles_alignment_and_cuts():
    data = (
        b"\x1b@\x1bt\x13"
        b"\x1ba\x01\x1b!\x30\x1bE\x01BIG\n"  # centred, double size, bold
        b"\x1b!\x00\x1ba\x00plain \x1bE\x01bold\x1bE\x00 \x1d\x42\x01inv\x1d\x42\x00\n"
        b"\x1b-\x01under\x1b-\x00\n"
        b"\x1ba\x02right\n"
        b"\x1ba\x00\x1d!\x01tall\n"
        b"\x1bd\x06\x1dV\x00"
        b"\x1bp\x00\x19\xfa"  # cash drawer
    )
    text = decode_escpos(data, "CP858", width=20)
    assert text.splitlines() == [
        "       [BIG]**BIG**[/BIG]",  # 3 double-width characters, centred in 20
        "plain **bold** [INVERTED]inv[/INVERTED]",
        "__under__",
        "               right",
        "[2H]tall[/2H]",
        "------ cut -------".center(20, "-"),
        "[CASH DRAWER]",
    ]
    lines = parse_escpos(data)
    assert lines[0].align == "center" and lines[0].segments[0].style.width == 2


def test_rush_is_shouted(world):
    line_add(tab=world["tab"], actor=world["server"], item=world["steak"])
    rush = OrderLine.objects.get()
    kitchen.lines_send(tab=world["tab"], actor=world["server"], rush_ids=[rush.pk])
    text = decode_escpos(bytes(only_job().payload), "CP858")
    assert "[INVERTED][BIG]**RUSH**[/BIG][/INVERTED]" in text


def test_void_ticket_is_inverted_and_says_why(world):
    order(world, with_dessert=False)
    steak = OrderLine.objects.get(name="Steak frites")
    kitchen.line_void(
        line=steak, actor=world["server"], reason="sent back", approver=world["manager"]
    )
    void = PrintJob.objects.get(kind=PrintJob.Kind.VOID)
    text = decode_escpos(bytes(void.payload), void.code_page)
    assert "[INVERTED][BIG]**VOID**[/BIG][/INVERTED]" in text
    assert "VOID 2 x Steak frites" in text and "Reason: sent back" in text


def test_firing_a_held_course_prints_a_fire_chit(world):
    order(world)
    kitchen.course_fire(tab=world["tab"], actor=world["server"], course=2)
    fire = PrintJob.objects.get(kind=PrintJob.Kind.FIRE)
    text = decode_escpos(bytes(fire.payload), fire.code_page)
    assert "[BIG]**FIRE**[/BIG]" in text and "**Course 2**" in text
    assert "1 x Crème brûlée" in text and "HOLD" not in text and "Steak" not in text


# --- Jobs are written with their ticket ------------------------------------------------------


def test_a_send_writes_one_job_in_its_transaction(world):
    with transaction.atomic():
        tickets = order(world)
        assert {t.station.slug for t in tickets} == {"grill", "cold"}
        job = only_job()  # the grill prints, the cold station does not
        assert job.ticket.station.slug == "grill"
        assert job.printer == job.target == world["kitchen_printer"]
        transaction.set_rollback(True)
    assert not Ticket.objects.exists()
    assert not PrintJob.objects.exists()


def test_a_failing_send_leaves_no_job(world):
    line_add(tab=world["tab"], actor=world["server"], item=world["steak"])
    with pytest.raises(PermissionDenied):
        kitchen.lines_send(
            tab=world["tab"], actor=StaffFactory(venue=world["venue"], role=StaffMember.Role.HOST)
        )
    assert not PrintJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_ticket_print_refuses_to_run_outside_a_transaction(world):
    order(world, with_dessert=False)
    ticket = Ticket.objects.get(station__slug="grill")
    with pytest.raises(RuntimeError):
        ticket_print(ticket=ticket)


def test_an_inactive_printer_sends_to_its_backup_from_the_start(world):
    backup = PrinterFactory(venue=world["venue"], name="Office printer", port=free_port())
    printer = world["kitchen_printer"]
    printer.backup, printer.is_active = backup, False
    printer.save()
    order(world)
    job = only_job()
    assert job.printer == printer and job.target == backup and job.status == Status.PENDING


def test_no_active_printer_at_all_is_a_visible_failure(world):
    printer = world["kitchen_printer"]
    printer.is_active = False
    printer.save()
    order(world)
    job = only_job()
    assert job.status == Status.FAILED and "switched off" in job.last_error
    assert job.payload  # rendered: a retry prints it once the printer is back


# --- The worker over TCP ----------------------------------------------------------------------


def point(printer, virtual: VirtualPrinter, index: int = 0) -> None:
    printer.port = virtual.ports[index]
    printer.save()


def test_worker_prints_a_job_once(world, printers):
    virtual = printers()
    point(world["kitchen_printer"], virtual)
    order(world)
    assert print_jobs_run_once() == {"printed": 1}
    (printout,) = virtual.wait_for(1)
    assert "**GRILL**" in printout.text and "Crème brûlée" in printout.text
    assert printout.data == bytes(only_job().payload)
    job = only_job()
    assert job.status == Status.PRINTED and job.printed_at and job.attempts == 1
    # the printout is kept on disk, one file per printout per port
    assert printout.path.parent.name == str(virtual.ports[0])
    assert "Crème brûlée" in printout.path.read_text(encoding="utf-8")

    assert print_jobs_run_once() == {}
    time.sleep(0.2)
    assert len(virtual.received()) == 1


def test_offline_printer_backs_off_then_prints_once_when_back(world, printers):
    order(world)  # the printer's port has nobody listening
    before = timezone.now()
    assert print_jobs_run_once() == {"retry": 1}
    job = only_job()
    assert job.status == Status.PENDING and job.attempts == 1
    assert "Connection refused" in job.last_error or "refused" in job.last_error.lower()
    wait = (job.next_attempt_at - before).total_seconds()
    assert 1.9 <= wait <= 3  # the first backoff: 2 seconds
    assert [backoff_seconds(n) for n in (1, 2, 3, 4, 10)] == [2, 4, 8, 16, 60]

    assert print_jobs_run_once() == {}  # not due yet: nothing is tried
    assert only_job().attempts == 1

    virtual = printers(world["kitchen_printer"].port)  # the printer is back
    PrintJob.objects.update(next_attempt_at=timezone.now())  # ... and the backoff has passed
    assert print_jobs_run_once() == {"printed": 1}
    assert len(virtual.wait_for(1)) == 1
    job = only_job()
    assert job.status == Status.PRINTED and job.attempts == 2
    assert print_jobs_run_once() == {}
    time.sleep(0.2)
    assert len(virtual.received()) == 1


def test_after_max_failures_the_backup_prints_it_once(world, printers, print_settings):
    print_settings.PRINT_RETRY_BASE_SECONDS = 0
    office = printers()
    backup = PrinterFactory(venue=world["venue"], name="Office printer", port=office.ports[0])
    world["kitchen_printer"].backup = backup
    world["kitchen_printer"].save()
    order(world)

    outcomes = [print_jobs_run_once() for _ in range(4)]
    assert outcomes[:3] == [{"retry": 1}, {"retry": 1}, {"rerouted": 1}]
    assert outcomes[3] == {"printed": 1}
    original, rerouted = PrintJob.objects.order_by("pk")
    assert original.status == Status.REROUTED and original.attempts == 3
    assert rerouted.rerouted_from == original and rerouted.target == backup
    assert rerouted.status == Status.PRINTED and rerouted.printer == world["kitchen_printer"]
    (printout,) = office.wait_for(1)
    assert "For Kitchen printer (it is not printing)" in printout.text
    assert "**GRILL**" in printout.text
    assert print_jobs_run_once() == {}
    time.sleep(0.2)
    assert len(office.received()) == 1


def test_once_a_printer_is_known_down_the_next_jobs_move_after_one_try(
    world, printers, print_settings
):
    print_settings.PRINT_RETRY_BASE_SECONDS = 0
    office = printers()
    backup = PrinterFactory(venue=world["venue"], name="Office printer", port=office.ports[0])
    kitchen_printer = world["kitchen_printer"]
    kitchen_printer.backup = backup
    kitchen_printer.save()
    order(world, with_dessert=False)
    for _ in range(3):
        print_jobs_run_once()  # retry, retry, rerouted
    line_add(tab=world["tab"], actor=world["server"], item=world["steak"])
    kitchen.lines_send(tab=world["tab"], actor=world["server"])  # an addition
    # the backup copy of the first ticket prints; the addition is tried once, then moved
    assert print_jobs_run_once() == {"printed": 1, "rerouted": 1}
    assert print_jobs_run_once() == {"printed": 1}
    addition = PrintJob.objects.get(kind=PrintJob.Kind.ADDITION, target=kitchen_printer)
    assert addition.status == Status.REROUTED and addition.attempts == 1
    assert [p.text.count("ADDITION") for p in office.wait_for(2)] == [0, 1]

    # the kitchen printer is back: the next ticket prints there, at the first try
    back = printers(kitchen_printer.port)
    line_add(tab=world["tab"], actor=world["server"], item=world["steak"])
    kitchen.lines_send(tab=world["tab"], actor=world["server"])
    assert print_jobs_run_once() == {"printed": 1}
    assert len(back.wait_for(1)) == 1 and len(office.received()) == 2


def test_a_second_backup_gets_the_original_bytes_with_one_banner(world, printers, print_settings):
    print_settings.PRINT_MAX_ATTEMPTS = 1
    last = printers()
    third = PrinterFactory(venue=world["venue"], name="Third", port=last.ports[0])
    second = PrinterFactory(venue=world["venue"], name="Second", port=free_port(), backup=third)
    world["kitchen_printer"].backup = second
    world["kitchen_printer"].save()
    order(world)
    assert print_jobs_run_once() == {"rerouted": 1}  # kitchen printer -> second
    assert print_jobs_run_once() == {"rerouted": 1}  # second -> third
    assert print_jobs_run_once() == {"printed": 1}
    (printout,) = last.wait_for(1)
    assert printout.text.count("For Kitchen printer (it is not printing)") == 1
    first, _second, final = PrintJob.objects.order_by("pk")
    assert bytes(final.payload).endswith(bytes(first.payload))
    assert final.rerouted_from.rerouted_from == first


def test_without_a_backup_it_keeps_trying_then_gives_up(world, print_settings):
    print_settings.PRINT_RETRY_BASE_SECONDS = 0
    order(world)
    for _ in range(5):
        assert print_jobs_run_once() == {"retry": 1}
    assert only_job().status == Status.PENDING and only_job().attempts == 5
    PrintJob.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    assert print_jobs_run_once() == {"failed": 1}
    job = only_job()
    assert job.status == Status.FAILED and job.attempts == 6 and job.last_error
    assert print_jobs_run_once() == {}


def test_a_backup_loop_ends(world, print_settings):
    print_settings.PRINT_MAX_ATTEMPTS = 1
    print_settings.PRINT_GIVE_UP_SECONDS = 0
    printer = world["kitchen_printer"]
    other = PrinterFactory(venue=world["venue"], name="Other", port=free_port(), backup=printer)
    printer.backup = other
    printer.save()
    order(world)
    assert print_jobs_run_once() == {"rerouted": 1}
    assert print_jobs_run_once() == {"failed": 1}  # back to the first printer: no
    assert list(PrintJob.objects.order_by("pk").values_list("status", flat=True)) == [
        Status.REROUTED,
        Status.FAILED,
    ]


def test_failed_job_can_be_retried_and_prints(world, printers, print_settings):
    print_settings.PRINT_MAX_ATTEMPTS = 1
    print_settings.PRINT_GIVE_UP_SECONDS = 0
    order(world)
    assert print_jobs_run_once() == {"failed": 1}
    virtual = printers(world["kitchen_printer"].port)
    job = print_job_retry(job=only_job(), actor=world["manager"])
    assert job.status == Status.PENDING and job.attempts == 0
    assert print_jobs_run_once() == {"printed": 1}
    assert "REPRINT" not in virtual.wait_for(1)[0].text


def test_reprint_is_marked_and_prints_once(world, printers):
    virtual = printers()
    point(world["kitchen_printer"], virtual)
    order(world)
    print_jobs_run_once()
    original = only_job()
    with pytest.raises(PermissionDenied):
        print_job_reprint(job=original, actor=world["server"])
    reprint = print_job_reprint(job=original, actor=world["manager"])
    assert reprint.is_reprint and reprint.reprint_of == original
    assert bytes(reprint.payload).endswith(bytes(original.payload))
    assert print_jobs_run_once() == {"printed": 1}
    first, second = virtual.wait_for(2)
    assert "REPRINT" not in first.text
    assert second.text.lstrip().startswith("[INVERTED][BIG]**REPRINT**")
    assert second.text.split("[BIG]**GRILL**")[1] == first.text.split("[BIG]**GRILL**")[1]
    # reprinting the reprint prints the original once more, with one banner
    again = print_job_reprint(job=reprint, actor=world["manager"])
    assert again.reprint_of == original and bytes(again.payload).count(b"REPRINT") == 1
    assert print_jobs_run_once() == {"printed": 1}
    assert print_jobs_run_once() == {}
    time.sleep(0.2)
    assert len(virtual.received()) == 3


# --- Claims: one worker per job ------------------------------------------------------------------


def test_a_claimed_job_cannot_be_claimed_again(world):
    order(world)
    first = print_job_claim()
    assert first is not None and first.status == Status.PRINTING and first.attempts == 1
    assert print_job_claim() is None


def test_jobs_of_one_printer_go_out_in_order(world, print_settings):
    order(world)
    kitchen.course_fire(tab=world["tab"], actor=world["server"], course=2)
    ticket_job, fire_job = PrintJob.objects.order_by("pk")
    PrintJob.objects.filter(pk=fire_job.pk).update(next_attempt_at=timezone.now() - timedelta(1))
    claimed = print_job_claim()
    assert claimed.pk == ticket_job.pk  # the FIRE chit waits for its ticket
    assert print_job_claim() is None


def test_a_job_left_printing_by_a_dead_worker_is_sent_again(world, print_settings):
    order(world)
    job = print_job_claim()
    assert print_jobs_recover() == 0  # still fresh: its worker may be sending it
    PrintJob.objects.filter(pk=job.pk).update(claimed_at=timezone.now() - timedelta(minutes=5))
    assert print_jobs_recover() == 1
    job.refresh_from_db()
    assert job.status == Status.PENDING and "interrupted" in job.last_error


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_workers_never_print_a_job_twice(printers):
    venue = VenueFactory()
    server = StaffFactory(venue=venue, role=StaffMember.Role.SERVER)
    virtuals = printers(0, 0, 0)
    stations = []
    for index, port in enumerate(virtuals.ports):
        printer = PrinterFactory(venue=venue, port=port)
        stations.append(
            StationFactory(venue=venue, slug=f"s{index}", printer=printer, print_tickets=True)
        )
    for station in stations:
        item = MenuItemFactory(
            venue=venue, category=CategoryFactory(venue=venue, default_station=station)
        )
        for table_number in range(4):
            tab = check_open(
                venue=venue,
                actor=server,
                kind="table",
                table=TableFactory(venue=venue, name=f"{station.slug}-{table_number}"),
                guest_count=1,
            )
            line_add(tab=tab, actor=server, item=item)
            kitchen.lines_send(tab=tab, actor=server)
    assert PrintJob.objects.count() == 12

    start = threading.Barrier(3)
    results = []

    def worker():
        start.wait()
        try:
            results.append(print_jobs_run_once())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(r["printed"] for r in results) == 12
    assert set(PrintJob.objects.values_list("status", flat=True)) == {Status.PRINTED}
    assert len(virtuals.wait_for(12)) == 12
    time.sleep(0.2)
    assert len(virtuals.received()) == 12


def test_the_worker_loop_stops_when_asked(world, printers, print_settings):
    print_settings.PRINT_POLL_SECONDS = 0.05
    virtual = printers()
    point(world["kitchen_printer"], virtual)
    order(world)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    print_jobs_run(stop=stop)  # here, in this thread, on the test's database connection
    assert time.monotonic() - started < 3
    assert only_job().status == Status.PRINTED
    assert len(virtual.wait_for(1)) == 1


# --- Admin and the printouts page --------------------------------------------------------------


def back_office(client, world, role=StaffMember.Role.MANAGER):
    user = UserFactory(is_staff=True)
    StaffFactory(venue=world["venue"], user=user, role=role)
    client.force_login(user)
    return client


def test_admin_lists_jobs_and_reprints(client, world):
    order(world)
    job = only_job()
    back_office(client, world)
    response = client.get(reverse("admin:kitchen_printjob_changelist") + "?status__exact=pending")
    assert response.status_code == 200 and response.context["cl"].result_count == 1
    response = client.get(reverse("admin:kitchen_printjob_change", args=[job.pk]))
    assert response.status_code == 200
    assert "Crème brûlée" in response.content.decode()  # the decoded preview
    response = client.post(
        reverse("admin:kitchen_printjob_changelist"),
        {"action": "reprint", "_selected_action": [job.pk]},
        follow=True,
    )
    assert response.status_code == 200
    reprint = PrintJob.objects.get(is_reprint=True)
    assert reprint.reprint_of == job and b"REPRINT" in bytes(reprint.payload)
    ticket_page = client.get(reverse("admin:kitchen_ticket_change", args=[job.ticket_id]))
    assert ticket_page.status_code == 200 and "Steak frites" in ticket_page.content.decode()


def test_admin_hides_other_venues_jobs(client, world):
    order(world)
    other = VenueFactory()
    user = UserFactory(is_staff=True)
    StaffFactory(venue=other, user=user, role=StaffMember.Role.OWNER)
    client.force_login(user)
    response = client.get(reverse("admin:kitchen_printjob_changelist"))
    assert response.status_code == 200 and response.context["cl"].result_count == 0
    job = only_job()
    response = client.post(
        reverse("admin:kitchen_printjob_changelist"),
        {"action": "reprint", "_selected_action": [job.pk]},
    )
    assert not PrintJob.objects.filter(is_reprint=True).exists()


@pytest.mark.urls(__name__)
def test_printouts_page_shows_the_newest_printout_first(client, world, printers):
    virtual = printers()
    point(world["kitchen_printer"], virtual)
    order(world)
    print_jobs_run_once()
    virtual.wait_for(1)
    back_office(client, world)
    response = client.get(reverse("kitchen:printouts"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Kitchen printer" in page and "Crème brûlée" in page
    assert 'http-equiv="refresh"' in page
    assert '<span class="b w h">GRILL</span>' in page
    # another venue's manager sees no printouts of this venue's printers
    other = VenueFactory()
    user = UserFactory(is_staff=True)
    StaffFactory(venue=other, user=user, role=StaffMember.Role.MANAGER)
    client.force_login(user)
    assert "Crème brûlée" not in client.get(reverse("kitchen:printouts")).content.decode()


def send_raw(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)


def test_virtual_printer_keeps_recent_printouts_on_disk(tmp_path):
    with VirtualPrinter([0], directory=tmp_path, keep_files=2) as virtual:
        port = virtual.ports[0]
        for n in range(3):
            send_raw(port, b"\x1b@\x1bt\x13" + f"printout {n} ".encode() + b"\xd5\n\x1dV\x00")
            virtual.wait_for(n + 1)
    texts = sorted(p.read_text(encoding="utf-8") for p in (tmp_path / str(port)).glob("*.txt"))
    assert [t.splitlines()[0] for t in texts] == ["printout 1 €", "printout 2 €"]
    assert len(list((tmp_path / str(port)).glob("*.bin"))) == 2


def test_the_commands(world, tmp_path):
    port = free_port()
    command = [sys.executable, "manage.py", "virtual_printer", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--dir", str(tmp_path / "out")],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        point_at = world["kitchen_printer"]
        point_at.port = port
        point_at.save()
        order(world)
        out = io.StringIO()
        call_command("print_worker", "--once", stdout=out)
        assert out.getvalue().strip() == "print_worker: 1 printed"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not list((tmp_path / "out").glob("*/*.txt")):
            time.sleep(0.05)
        (saved,) = (tmp_path / "out" / str(port)).glob("*.txt")
        assert "Crème brûlée" in saved.read_text(encoding="utf-8")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"listening on 127.0.0.1 port(s) {port}" in output
    assert "virtual_printer: stopped" in output


def test_ports_on_the_command_line():
    assert parse_ports(["9101-9104"]) == [9101, 9102, 9103, 9104]
    assert parse_ports(["9102", "9101,9103"]) == [9101, 9102, 9103]
    with pytest.raises(ValueError):
        parse_ports(["70000"])
