"""gunicorn settings for `inspector serve` and the Procfile (`-c python:inspector.gunicorn_conf`)."""
import gc

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


def post_worker_init(worker):
    """Move what start-up made (modules, the app, SQLAlchemy's metadata) out of the
    garbage collector's sight: it is never garbage, yet every full collection
    walked it, stopping all of a worker's threads for 50-75 ms under load."""
    gc.freeze()
