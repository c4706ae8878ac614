"""gunicorn settings for `inspector serve` and the Procfile (`-c python:inspector.gunicorn_conf`)."""
from inspector import wire

worker_class = "gthread"
# Live streams each hold a thread; short graceful timeout so a restart is quick.
graceful_timeout = 5
keepalive = 5
# Keep header names with underscores: an inspector must show what was sent.
header_map = "dangerous"
limit_request_fields = 1000
limit_request_field_size = 16384
# One shared control socket path would clash between several local servers.
control_socket_disable = True


def pre_request(worker, req):
    """Hand the raw, ordered header list to the thread that will run the view."""
    wire.remember(req.headers)
