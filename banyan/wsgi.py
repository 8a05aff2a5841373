import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banyan.settings")
application = get_wsgi_application()

# Never serve real people with a development checkout's keys (outside BANYAN_DEMO=1; banyan/core/deploy.py).
from banyan.core.deploy import refuse_development_defaults  # noqa: E402 -- after Django is set up

refuse_development_defaults()
