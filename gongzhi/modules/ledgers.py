"""Ledgers (台账): the register imported from spreadsheets, work ledgers exported as XLSX."""

from gongzhi.modules.declaration import Module
from models import ImportJob
from schema import ledgers

MODULE = Module(name="ledgers", tables=(ImportJob,), resources=("ledger", "register"),
                schema=ledgers.PARTS)
