"""The API's routers, one per area; mounted on the one NinjaAPI in pos/api/app.py."""
