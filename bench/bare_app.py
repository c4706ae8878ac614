"""The baseline: a bare Flask app that answers every request with 204 and stores nothing.

Served by bench/run.py under the same gunicorn settings as `inspector serve`.
"""
from flask import Flask, request

app = Flask(__name__)


@app.route("/hooks/<token>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def capture(token: str):
    """Read the body (as the inspector must) and answer 204."""
    request.get_data()
    return "", 204
