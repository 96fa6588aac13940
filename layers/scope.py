"""The viewer's area as a SQL predicate: personal data is shown in full only where it holds.

Queries take the parameters :scope_all, :scope_grids and :scope_communities (from
``webmap.viewer.Viewer.scope_params``); the public passes false and two empty lists.
"""

PUBLIC = {"scope_all": False, "scope_grids": [], "scope_communities": []}


def in_scope(community, grid):
    """SQL that is true when a row with these community and grid columns is in scope."""
    return (f"(:scope_all OR {community} = ANY(CAST(:scope_communities AS int[]))"
            f" OR {grid} = ANY(CAST(:scope_grids AS int[])))")

