"""Importers: each runs in one transaction and either writes everything or nothing."""


class ImportFailed(Exception):
    """The input was refused; ``errors`` holds one message per bad feature or row (zh-CN)."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))
