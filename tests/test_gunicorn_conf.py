"""The gunicorn settings `inspector serve` and the Procfile share."""
from __future__ import annotations

import gc

from inspector import gunicorn_conf


def test_a_worker_hides_its_start_up_objects_from_the_collector():
    """Full collections walked every module and the app each time: 50-75 ms pauses of
    all a worker's threads under load. Frozen, they are skipped."""
    gc.unfreeze()
    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()

