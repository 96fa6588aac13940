"""Signing in through the real login form (with its CSRF token) from the Flask test client."""
import re

from layers import users

PASSWORD = "correct horse 146"


def csrf_token(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf[_-]token" (?:value|content)="([^"]+)"', page).group(1)


def login(client, name, password=PASSWORD):
    response = client.post("/login", data={"name": name, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, "/login")
    return client


def add_user(app, name, role, area=None):
    with app.app_context():
        return users.add(name, role, PASSWORD, area)
