"""`/healthz`, and a clear one-line refusal when DATABASE_URL points nowhere."""
import os
import subprocess
import sys
from pathlib import Path

from app import create_app

ROOT = Path(__file__).resolve().parents[1]
NOWHERE = "postgresql://postgres@/gridmap?host=/nonexistent-socket-dir"


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_503_when_database_unreachable():
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": NOWHERE})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["reason"]


def test_cli_with_unreachable_database_says_so_in_one_line():
    env = dict(os.environ, DATABASE_URL=NOWHERE)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database unreachable")
    assert "Traceback" not in result.stderr


def test_security_headers(client):
    for path in ("/healthz", "/", "/login"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
