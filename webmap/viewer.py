"""Who is looking, and so what personal data they may see.

The scope is applied in SQL: every query that returns names, phones, reporters or issue
details takes ``scope_params()`` and uses ``layers.scope.in_scope`` to show a row in full
only inside the viewer's area, masked outside it. The public has no area at all.
"""
from dataclasses import dataclass

from flask_login import current_user

# Roles that read the whole installation in full when they have no area (officials read,
# admins also write); given an area, they are scoped to it like everyone else.
WHOLE_INSTALLATION = ("official", "admin")


@dataclass(frozen=True)
class Viewer:
    role: str = "public"
    user_id: int | None = None
    name: str | None = None
    grid_ids: tuple = ()
    community_ids: tuple = ()       # includes every community of the areas below
    subdistrict_ids: tuple = ()     # an area given as a whole subdistrict
    district_ids: tuple = ()        # ... or a whole district

    @property
    def scope_all(self):
        return self.role in WHOLE_INSTALLATION and not self._named_area

    @property
    def _named_area(self):
        return bool(self.grid_ids or self.community_ids or self.subdistrict_ids or self.district_ids)

    @property
    def signed_in(self):
        return self.user_id is not None

    @property
    def has_area(self):
        return self.scope_all or self._named_area

    def scope_params(self):
        return {"scope_all": self.scope_all, "scope_grids": list(self.grid_ids),
                "scope_communities": list(self.community_ids)}

    @property
    def cache_key(self):
        # Per user: two users of one role may have different areas.
        return f"{self.role}:{self.user_id}"


PUBLIC = Viewer()


def of_account(a):
    """The viewer of an account (layers.users.Account): a signed-in user's, or an API key's."""
    return Viewer(a.role, a.id, a.name, a.grid_ids, a.community_ids, a.subdistrict_ids, a.district_ids)


def current():
    if not current_user.is_authenticated:
        return PUBLIC
    return of_account(current_user.account)
