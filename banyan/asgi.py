import os

from django.core.asgi import get_asgi_application

from banyan.core.asgi_limits import BodySizeLimit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banyan.settings")
# Bodies above FILE_UPLOAD_MAX_MEMORY_SIZE would be spooled to a temporary file by Django: refused first.
application = BodySizeLimit(get_asgi_application())

# Never serve real people with a development checkout's keys (outside BANYAN_DEMO=1; banyan/core/deploy.py).
from banyan.core.deploy import refuse_development_defaults  # noqa: E402 -- after Django is set up

refuse_development_defaults()

# Each server process joins the bus between processes when BANYAN_BUS=mqtt (banyan/core/bus_mqtt.py).
from banyan.core.bus_mqtt import start_from_settings  # noqa: E402 -- after Django is set up

bridge = start_from_settings()
