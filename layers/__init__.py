"""PostGIS: the cluster, the engine and its one query gateway, migrations, one module per layer."""
