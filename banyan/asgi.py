import os

from django.core.asgi import get_asgi_application

from banyan.core.asgi_limits import BodySizeLimit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banyan.settings")
# Bodies above FILE_UPLOAD_MAX_MEMORY_SIZE would be spooled to a temporary file by Django: refused first.
application = BodySizeLimit(get_asgi_application())

# Each server process joins the bus between processes when BANYAN_BUS=mqtt (banyan/core/bus_mqtt.py).
from banyan.core.bus_mqtt import start_from_settings  # noqa: E402 -- after Django is set up

bridge = start_from_settings()
