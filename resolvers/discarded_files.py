"""Stored files a transaction stops using, deleted only once it has committed (issue #24).

An erasure unlinks the person's case photos; PIPL deletion means their bytes go too, but not before
the erasure is durable: a transaction that rolls back (a refused mutation's savepoint, a failed
commit, a crash) must find its files where they were. So the statement that drops the link notes the
files' keys on the session (``discard_after_commit``), a mutation's savepoint forgets what it noted
when it is undone (schema.common.mutate), and whoever commits the session deletes them after the
commit (``delete_discarded``: gongzhi.http.state's request commit, the reapply-erasures command).
Deleting is idempotent: a file already gone is no error, so erasing again deletes nothing twice."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from sqlalchemy.ext.asyncio import AsyncSession

KEY = "discarded_files"
log = logging.getLogger("gongzhi")


def noted(session: AsyncSession) -> list[str]:
    """The keys (relative to the upload root) noted so far in the session's transaction."""
    found: list[str] = session.info.setdefault(KEY, [])
    return found


def discard_after_commit(session: AsyncSession, keys: Iterable[str | None]) -> None:
    noted(session).extend(k for k in keys if k)


def delete_discarded(session: AsyncSession, root: Path) -> int:
    """Delete the files noted on the session (call it after the commit): how many were there."""
    keys: list[str] = session.info.pop(KEY, [])
    deleted = 0
    for key in keys:
        rel = PurePosixPath(key)
        if rel.is_absolute() or ".." in rel.parts:  # keys are ours; never a path out of the root
            continue
        path = root.joinpath(*rel.parts)
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
        except OSError as e:  # the erasure stands; the operator sees what is left to remove
            log.error("could not delete discarded file %s: %s", key, e)
    return deleted
