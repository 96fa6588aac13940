"""The sample subdistrict, importers and the synthetic-city generator."""
