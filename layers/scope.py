"""The viewer's area as a SQL predicate: personal data is shown in full only where it holds,
and a write is allowed only where it holds.

Queries take the parameters :scope_all, :scope_grids and :scope_communities (from
``webmap.viewer.Viewer.scope_params``); the public passes false and two empty lists.
"""

PUBLIC = {"scope_all": False, "scope_grids": [], "scope_communities": []}
# A writer with no area to keep to: a resident's report through Open311 may be anywhere.
EVERYWHERE = {"scope_all": True, "scope_grids": [], "scope_communities": []}


def in_scope(community, grid):
    """SQL that is true when a row with these community and grid columns is in scope."""
    return (f"(:scope_all OR {community} = ANY(CAST(:scope_communities AS int[]))"
            f" OR {grid} = ANY(CAST(:scope_grids AS int[])))")


def community_in_scope(community):
    """SQL that is true when a place of a whole community (a venue, its meetings) is in scope:
    the community is in the area, or one of the viewer's grids lies in it."""
    return (f"(:scope_all OR {community} = ANY(CAST(:scope_communities AS int[]))"
            f" OR EXISTS (SELECT 1 FROM grid scope_g WHERE scope_g.id = ANY(CAST(:scope_grids AS int[]))"
            f" AND scope_g.community_id = {community}))")
