"""Check stored signatures again, after the endpoint's secret or header changed."""
from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from .capture import Arrival, EndpointConfig, check_signature
from .models import CapturedRequest, Endpoint, db

BATCH = 500


def recheck_endpoint(endpoint: Endpoint) -> dict[str, int]:
    """Re-verify every request of the endpoint; returns how many ended in each status."""
    config = EndpointConfig(endpoint.id, tuple(endpoint.secrets or ()), endpoint.signature_header)
    counts: Counter[str] = Counter()
    last_id = 0
    while True:
        rows = db.session.scalars(
            sa.select(CapturedRequest)
            .where(CapturedRequest.endpoint_id == config.id, CapturedRequest.id > last_id)
            .order_by(CapturedRequest.id).limit(BATCH)).all()
        if not rows:
            return dict(counts)
        for row in rows:
            arrival = Arrival(row.method, row.path, row.query,
                              [tuple(pair) for pair in row.headers], row.body,
                              row.content_type, row.remote_addr)
            check = check_signature(arrival, config,
                                    rejected=(row.rejected, row.size) if row.rejected else None)
            row.signature_status = check.status
            row.signature = check.to_dict()
            counts[check.status] += 1
        last_id = rows[-1].id
        db.session.commit()
