"""``/api/token/``: DRF's token view, throttled.

DRF's ``ObtainAuthToken`` switches throttling off (``throttle_classes = ()``), so a script could
guess passwords at full speed. Here every request, right or wrong, counts against the client
address's ``token`` rate (``API_THROTTLE_TOKEN``, default 10/min), kept in the default cache:
Redis when ``CACHE_URL`` is set, so every gunicorn worker shares the count. Failed passwords also
count toward django-axes' lockout, as on the admin login page.
"""

from rest_framework.authtoken.views import ObtainAuthToken

from config.throttles import ScopedByAddressThrottle


class ThrottledObtainAuthToken(ObtainAuthToken):
    throttle_classes = [ScopedByAddressThrottle]
    throttle_scope = "token"


obtain_auth_token = ThrottledObtainAuthToken.as_view()
