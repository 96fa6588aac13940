"""Builders of importer input files, written into a test's tmp_path: GeoJSON text, zipped
Shapefiles, GeoPackages and 三长 rosters as .xlsx or .csv. Nothing binary is committed."""
import csv
import io
import json
import zipfile

import geopandas as gpd
import openpyxl
import shapely


def ring(lon, lat, size=0.0004):
    """A closed square ring, lon/lat, with its south-west corner at (lon, lat)."""
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size],
            [lon, lat]]


def polygon(*rings):
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


def square(lon, lat, size=0.0004):
    return shapely.Polygon(ring(lon, lat, size))


def geojson(path, features, crs=None):
    """Write a FeatureCollection of (properties, geometry dict) pairs; ``crs`` is an EPSG
    code written as the old-style ``crs`` member."""
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": geometry}
        for props, geometry in features]}
    if crs is not None:
        collection["crs"] = {"type": "name",
                             "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs}"}}
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


def zipped_shapefile(path, frame, *, encoding="UTF-8", cpg=True, prj=True):
    """Write ``frame`` as a Shapefile with its .dbf in ``encoding`` and zip it to ``path``;
    ``cpg=False`` / ``prj=False`` leave out the code-page and projection files, as old
    files often do."""
    folder = path.parent / f"{path.stem}_shp"
    folder.mkdir()
    frame.to_file(folder / "areas.shp", engine="pyogrio", encoding=encoding)
    dropped = {".cpg": not cpg, ".prj": not prj}
    with zipfile.ZipFile(path, "w") as archive:
        for part in sorted(folder.iterdir()):
            if not dropped.get(part.suffix):
                archive.write(part, part.name)
    return path


def geopackage(path, layers):
    """Write a GeoPackage with one layer per (name, GeoDataFrame) item."""
    for name, frame in layers.items():
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


def frame(records, crs="EPSG:4326"):
    """A GeoDataFrame from dicts that each hold a ``geometry``."""
    return gpd.GeoDataFrame(records, geometry="geometry", crs=crs)


def xlsx(path, rows):
    """Write rows (the first is the header) to the first sheet of a workbook."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def csv_file(path, rows, encoding="utf-8-sig"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path
