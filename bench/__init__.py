"""`make bench`: speed measured against the raw SQL limit in the same run, as ratios."""
