"""HTML pages: home and the endpoint inspector (placeholder until the dashboard lands)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template

from .models import Endpoint, db

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def home():
    """Endpoints and how to start."""
    endpoints = db.session.scalars(sa.select(Endpoint).order_by(Endpoint.id.desc())).all()
    return render_template("home.html", endpoints=endpoints)
