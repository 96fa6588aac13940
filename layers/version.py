"""The data version: a sequence every change to the map's tables advances (see migration
0002). Reading it is one cheap query, which is what makes an unchanged poll a 304."""
from layers import db


def current():
    return db.scalar("SELECT last_value FROM data_version", timeout_ms=2_000)
