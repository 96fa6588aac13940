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
