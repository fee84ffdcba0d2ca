"""Audit (审计): every mutation and every full read of personal data, read by scope."""

from gongzhi.modules.declaration import Module
from models import AuditEntry
from schema import audit

MODULE = Module(name="audit", tables=(AuditEntry,), resources=("audit_log",), schema=audit.PARTS)
