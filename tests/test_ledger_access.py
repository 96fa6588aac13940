"""The issue ledger (/issues and its exports) is for signed-in users unless PUBLIC_LEDGER opens
it; the 公示 pages, the dashboard's figures and the map stay public."""
import pytest

from tests.helpers import add_user, login, public_ledger_app

LEDGER = ("/issues", "/issues?stage=open", "/export/issues.xlsx", "/export/issues.csv",
          "/export/community/1.pdf")
PUBLIC = ("/notice/", "/dashboard", "/api/dashboard.json", "/", "/api/layers/compounds.geojson")


@pytest.mark.parametrize("path", LEDGER)
def test_the_ledger_asks_the_public_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_json_client_is_told_to_sign_in(client):
    response = client.get("/export/issues.csv", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.get_json()["error"]


@pytest.mark.parametrize("path", PUBLIC)
def test_notices_figures_and_the_map_stay_public(client, path):
    assert client.get(path).status_code == 200


def test_a_signed_in_user_reads_the_ledger(app):
    add_user(app, "l_official", "official")
    official = login(app.test_client(), "l_official")
    for path in LEDGER:
        assert official.get(path).status_code == 200, path


@pytest.fixture(scope="module")
def opened(database):
    yield from public_ledger_app(database)


@pytest.mark.parametrize("path", LEDGER)
def test_the_setting_opens_the_ledger(opened, path):
    assert opened.test_client().get(path).status_code == 200
