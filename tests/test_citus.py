"""`flask db distribute` (docs/scaling.md): on plain PostgreSQL (`make test`) it refuses with a
clear message and changes nothing; on a Citus cluster (`make test-citus`) the database the
suite runs on is distributed, a second run changes nothing, and the rows of one community live
on one shard of one worker."""
import sqlalchemy as sa

from layers import distribute
from tests.conftest import CITUS

if not CITUS:
    def test_distribute_refuses_plain_postgresql(runner, engine):
        result = runner.invoke(args=["db", "distribute"])
        assert result.exit_code == 1
        assert "plain PostgreSQL, not a Citus coordinator" in result.output
        assert "此数据库不是 Citus 协调节点" in result.output
        assert "Traceback" not in result.output
        with engine.connect() as conn:   # nothing was touched: the keys Citus refuses are there
            assert conn.execute(sa.text(
                "SELECT count(*) FROM pg_constraint WHERE conname = ANY(:n)"),
                {"n": sorted(distribute.DROP_KEYS)}).scalar() == 2

else:
    def test_distribute_again_changes_nothing(runner):
        result = runner.invoke(args=["db", "distribute"])
        assert result.exit_code == 0, result.output
        assert "0 table(s) distributed" in result.output

    def test_every_table_is_where_the_plan_puts_it(engine):
        with engine.connect() as conn:
            placed = distribute._placed(conn)
        for table in distribute.REFERENCE:
            assert placed.get(table) == "reference", table
        for table in distribute.LOCAL:
            assert placed.get(table) == "local", table
        for table in [*distribute.DISTRIBUTED, *distribute.BY_OWN_KEY]:
            assert placed.get(table) == "distributed", table

    def test_the_rows_of_one_community_live_on_one_shard(engine):
        with engine.connect() as conn:
            communities = conn.execute(sa.text(
                "SELECT id FROM community ORDER BY id")).scalars().all()
            workers = set()
            for community in communities:
                shards = distribute.same_shard(conn, community)
                assert set(shards) == set(distribute.DISTRIBUTED)
                assert len(set(shards.values())) == 1, (community, shards)
                workers |= {port for port, _ in shards.values()}
                # and the rows are there: the community's issues, read from that one shard
                shard = conn.execute(sa.text(
                    "SELECT shard_name('issue'::regclass, get_shard_id_for_distribution_column('issue', :c))"),
                    {"c": community}).scalar()
                on_shard = conn.execute(sa.text(
                    "SELECT result::int FROM run_command_on_placements('issue', "
                    "'SELECT count(*) FROM %s WHERE community_id = " + str(community) + "') "
                    "WHERE shardid = get_shard_id_for_distribution_column('issue', :c)"),
                    {"c": community}).scalar()
                total = conn.execute(sa.text("SELECT count(*) FROM issue WHERE community_id = :c"),
                                     {"c": community}).scalar()
                assert shard and on_shard == total
            assert len(workers) == 2, "the communities are spread over both workers"

    def _tasks(engine, sql, params):
        """The most shards one step of ``sql``'s plan is sent to (Citus's Task Count)."""
        import re

        with engine.connect() as conn:
            plan = "\n".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + sql), params))
        return max(int(n) for n in re.findall(r"Task Count: (\d+)", plan))

    def test_a_street_view_reads_the_shards_of_its_communities_only(app, engine):
        """The layers name the communities in the bbox (features.community_clause): a street
        reads their shards, not all 32, and gets the same features as without the names."""
        from geo.bbox import BBox
        from layers import compounds, features, issues, tiles
        from webmap import modes

        with engine.connect() as conn:
            box = BBox(*conn.execute(sa.text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e "
                "FROM compound WHERE id IN (SELECT min(id) FROM compound)) x")).one())
        with app.test_request_context():
            _, ids = features.community_clause(box, "c")
            assert 1 <= len(ids["in_communities"]) <= 3
            style = modes.style("open")[0]
            layers = {"compounds": compounds.query("open", style, box), "issues": issues.query(box)}
            for name, (sql, params) in layers.items():
                assert _tasks(engine, sql, params) <= len(ids["in_communities"]), name
                everywhere = {**params, "in_communities": list(range(1, 10_000))}
                with engine.connect() as conn:
                    assert conn.execute(sa.text(sql), params).all() == conn.execute(sa.text(sql), everywhere).all()
            # and the tile at street level around it, as the map asks for it
            import math

            from geo import tiles as tilemath

            lon, lat = (box.minx + box.maxx) / 2, math.radians((box.miny + box.maxy) / 2)
            x = int((lon + 180) / 360 * 2 ** 17)
            y = int((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * 2 ** 17)
            assert tiles.mvt(["compounds", "issues"], 17, x, y, mode="open", style=style,
                             box=tilemath.bounds(17, x, y, tiles.MARGIN))
