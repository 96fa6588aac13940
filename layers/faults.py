"""What a database error means for the people using the app, read from its SQLSTATE.

The web layer turns each kind into a clear refusal (webmap/errors.py); nothing of the error
itself (its SQL, its parameters, the server's wording) reaches a response.
"""
import functools
import random
import time

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
_RETRYABLE = ("40P01", "40001")                         # deadlock_detected, serialization_failure


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
    if code in _BUSY or code in _RETRYABLE:
        return BUSY
    if (exc.connection_invalidated or code in _SHUTTING_DOWN or code.startswith(_CONNECTION)
            or (isinstance(exc, sa.exc.OperationalError) and not code)):
        return UNAVAILABLE
    return None


def writes_refused(exc):
    """The database answers reads but refuses to store anything."""
    return kind(exc) in (READ_ONLY, DISK_FULL)


def retried(transaction, attempts=3):
    """Run ``transaction`` (a function that does one whole transaction) again when PostgreSQL
    rolled it back to break a deadlock or a serialization conflict: nothing of it was kept,
    so running it again is safe, and it sees the other side's committed work (a stale version
    is then refused as usual). Writes that touch the same summary rows from both ends (the
    state triggers of migration 0006 under concurrent records and advances) need this."""
    @functools.wraps(transaction)
    def run(*args, **kwargs):
        for attempt in range(1, attempts + 1):
            try:
                return transaction(*args, **kwargs)
            except sa.exc.DBAPIError as exc:
                if getattr(exc.orig, "pgcode", None) not in _RETRYABLE or attempt == attempts:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * attempt)   # let the other side commit first
    return run
