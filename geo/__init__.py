"""Pure spatial logic: no Flask, no database."""
