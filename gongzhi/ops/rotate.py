"""Re-seal personal data under the current key (after adding a new first key to GONGZHI_DATA_KEYS);
afterwards the old key can be retired."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Person, Tenant
from models.sealing import KEYRING
from tenants.session import bind_tenant


async def rotate_keys(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Re-seal every value not sealed with the current key; returns how many rows changed."""
    current = KEYRING.current[0]
    async with sessionmaker() as s:
        tenants = list(await s.scalars(select(Tenant.id)))
    changed = 0
    # The same table seen with plain text columns: the stored (sealed) values themselves.
    raw = sa.table("persons", sa.column("tenant_id", sa.Uuid()), sa.column("id", sa.Uuid()),
                   sa.column("id_card_no", sa.Text()), sa.column("phone", sa.Text()))
    for tenant_id in tenants:
        async with sessionmaker() as s:
            bind_tenant(s, tenant_id)
            async with s.begin():
                rows = (await s.execute(
                    select(raw.c.id, raw.c.id_card_no, raw.c.phone).where(raw.c.tenant_id == tenant_id)
                )).all()
                for pid, card, phone in rows:
                    values = {}
                    for col, stored in (("id_card_no", card), ("phone", phone)):
                        if stored is not None and KEYRING.kid_of(stored) != current:
                            values[col] = KEYRING.open(stored)  # the column type seals it again
                    if values:
                        await s.execute(update(Person).where(Person.id == pid).values(**values)
                                        .execution_options(synchronize_session=False))
                        changed += 1
    return changed
