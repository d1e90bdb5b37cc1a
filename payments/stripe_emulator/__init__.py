"""A local, stateful emulator of the parts of the Stripe API Brigade uses (PaymentIntents,
charges, refunds, Terminal locations / connection tokens / server-driven readers, test
helpers, events and signed webhooks), for machines that cannot reach Stripe.

Point the official SDK at it::

    client = stripe.StripeClient(
        "sk_test_brigade_emulator", base_addresses={"api": "http://127.0.0.1:12111"}
    )

Run it with ``manage.py stripe_emulator``, or in-process::

    with EmulatorServer(port=0, webhook_url=...) as emulator:
        ...  # emulator.url, emulator.state, emulator.dispatcher

See docs/stripe-emulator.md.
"""

from .server import (
    DEFAULT_API_KEY,
    DEFAULT_PORT,
    DEFAULT_WEBHOOK_SECRET,
    EmulatorServer,
)
from .state import API_VERSION, TEST_CARDS, EmulatorState
from .webhooks import WebhookDispatcher, sign

__all__ = [
    "API_VERSION",
    "DEFAULT_API_KEY",
    "DEFAULT_PORT",
    "DEFAULT_WEBHOOK_SECRET",
    "TEST_CARDS",
    "EmulatorServer",
    "EmulatorState",
    "WebhookDispatcher",
    "sign",
]
