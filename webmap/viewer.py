"""Who is looking, and so what personal data they may see.

Until accounts exist every visitor is the public: names masked, no phone numbers. Every
query that returns personal data takes ``viewer.full`` and masks in SQL when it is False.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Viewer:
    role: str = "public"
    full: bool = False   # may see names and phone numbers unmasked

    @property
    def cache_key(self):
        return f"{self.role}:{int(self.full)}"


def current():
    return Viewer()
