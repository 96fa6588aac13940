"""Refusals raised from layers/ for a person to read, in the reader's language.

A refusal carries its ``msgid`` (the Chinese text with ``%(name)s`` fields, as the web
catalogue webmap/translations holds it) and its ``params``; the web layer translates it
(``webmap.i18n.refusal``), and ``str()`` is the Chinese text, for the command line and logs.
Parameters named ``stage``, ``to`` or ``next`` hold stage codes, named in the reader's language.
"""


class Refusal(Exception):
    def __init__(self, msgid, **params):
        super().__init__(msgid % params if params else msgid)
        self.msgid = msgid
        self.params = params
