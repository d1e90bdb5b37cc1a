"""Who acts when a test sets up its world directly through the services (not as a person
under test): the system, like the demo seed does."""

from restaurant.permissions import SystemActor

SETUP = SystemActor("test setup")
