"""What a database error means for the people using the app, read from its SQLSTATE.

The web layer turns each kind into a clear refusal (webmap/errors.py); nothing of the error
itself (its SQL, its parameters, the server's wording) reaches a response.
"""
import sqlalchemy as sa

UNAVAILABLE = "unavailable"   # down, restarting, unreachable, or a connection lost mid-request
READ_ONLY = "read_only"       # default_transaction_read_only, a hot standby: reads go on
DISK_FULL = "disk_full"       # no space for the write: reads go on
BUSY = "busy"                 # a statement ran past its time limit, or no pooled connection free

# SQLSTATE classes and codes (PostgreSQL, Appendix A).
_CONNECTION = ("08",)                                   # connection_exception
_SHUTTING_DOWN = ("57P01", "57P02", "57P03", "57P05")   # admin/crash shutdown, cannot connect now, idle
_READ_ONLY = ("25006",)                                 # read_only_sql_transaction
_DISK_FULL = ("53100",)                                 # disk_full
_BUSY = ("57014", "53300")                              # query_canceled (statement_timeout), too_many_connections


def kind(exc):
    """UNAVAILABLE, READ_ONLY, DISK_FULL or BUSY for a database error the user can wait out;
    None for anything else (a bug: the caller answers 500)."""
    if isinstance(exc, sa.exc.TimeoutError):  # the pool had no connection to give in time
        return BUSY
    if not isinstance(exc, sa.exc.DBAPIError):
        return None
    code = getattr(exc.orig, "pgcode", None) or ""
    if code in _READ_ONLY:
        return READ_ONLY
    if code in _DISK_FULL:
        return DISK_FULL
    if code in _BUSY:
        return BUSY
    if (exc.connection_invalidated or code in _SHUTTING_DOWN or code.startswith(_CONNECTION)
            or (isinstance(exc, sa.exc.OperationalError) and not code)):
        return UNAVAILABLE
    return None


def writes_refused(exc):
    """The database answers reads but refuses to store anything."""
    return kind(exc) in (READ_ONLY, DISK_FULL)
