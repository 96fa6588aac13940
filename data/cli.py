"""`flask sample …`, `flask import …` and `flask synth …`."""
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from data.importers import ImportFailed
from layers import db
from layers.cli import needs_database

sample_cli = AppGroup("sample", help="The sample subdistrict (示例数据).")
import_cli = AppGroup("import", help="Import areas (districts to compounds) and the 三长 roster.")
synth_cli = AppGroup("synth", help="A synthetic city for scale tests and benchmarks (合成数据).")


@sample_cli.command("load")
@needs_database
def sample_load():
    """Load the sample 中心路街道 into an empty database (does nothing when it is there)."""
    from data import sample

    click.echo(sample.load(db.engine(), accounts_file=current_app.config.get("DEMO_ACCOUNTS_FILE")))


def _report(run):
    try:
        summary = run()
    except ImportFailed as exc:
        click.echo(f"导入失败，未写入任何数据（{len(exc.errors)} 个错误）：", err=True)
        for line in exc.errors:
            click.echo(f"  - {line}", err=True)
        sys.exit(1)
    click.echo(summary)


@import_cli.command("compounds")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--layer", help="layer name inside a GeoPackage")
@click.option("--crs", help="source CRS: an EPSG code (4547, EPSG:4490 …) or gcj02")
@click.option("--encoding", help="text encoding of a Shapefile's .dbf (GBK, UTF-8 …)")
@click.option("--kind", type=click.Choice(["compound", "grid", "community", "subdistrict", "district"]),
              default="compound", show_default=True,
              help="what the features are; each goes to the parent named in its 区/街道/社区 column, "
                   "else to the one that contains it")
@click.option("--make-valid", is_flag=True, help="repair invalid geometry instead of refusing it")
@needs_database
def import_compounds(file, layer, crs, encoding, kind, make_valid):
    """Compound (or grid/community/subdistrict/district) polygons from GeoJSON, GeoPackage or a
    zipped Shapefile."""
    from data.importers.areas import import_areas

    _report(lambda: import_areas(db.engine(), file, kind=kind, layer=layer, crs=crs,
                                 encoding=encoding, make_valid=make_valid))


@import_cli.command("contacts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@needs_database
def import_contacts(file):
    """The 三长 roster from .xlsx or .csv with Chinese headers (楼院, 职务, 姓名, 电话 …)."""
    from data.importers.contacts import import_contacts as run

    _report(lambda: run(db.engine(), file))


@synth_cli.command("city")
@click.option("--compounds", "n_compounds", type=int, required=True, help="number of compounds (楼院)")
@click.option("--issues", "n_issues", type=int, required=True, help="number of issues (诉求)")
@click.option("--seed", type=int, default=1, show_default=True, help="random seed")
@needs_database
def synth_city(n_compounds, n_issues, seed):
    """Load a synthetic city east of the sample, in one transaction (all or nothing)."""
    from data import synth

    try:
        click.echo(synth.load(db.engine(), n_compounds, n_issues, seed=seed))
    except synth.SynthError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
