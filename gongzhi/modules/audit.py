"""Audit (审计): every mutation and every full read of personal data, read by scope; the log is
hash-chained per tenant by a periodic sealing job (issue #24, resolvers/audit/chain.py)."""

import uuid
from datetime import datetime

from gongzhi.jobs import Job, JobResult
from gongzhi.modules.declaration import Module
from models import AuditChainHead, AuditCheckpoint, AuditEntry, AuditPiiRead
from resolvers import audit as audit_service
from resolvers.context import Db
from schema import audit


async def _seal(db: Db, now: datetime) -> JobResult:
    """Chain the tenant's audit rows written since the last run (at most ``JOB_LIMIT`` per run)."""
    tenant_id: uuid.UUID = db.session.info["tenant_id"]
    conn = await db.session.connection()
    return await audit_service.seal(conn, tenant_id, now=now), []


SEAL_AUDIT_LOG = Job("seal_audit_log", "audit rows sealed", _seal)

MODULE = Module(
    name="audit",
    tables=(AuditEntry, AuditChainHead, AuditCheckpoint, AuditPiiRead),
    resources=("audit_log",),
    schema=audit.PARTS,
    jobs=(SEAL_AUDIT_LOG,),
)
