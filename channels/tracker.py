"""Deleting a person's events from Rasa's SQL tracker store (its ``events`` table), for
"delete my data" and for the retention limit. Same SQLAlchemy URL as Rasa's tracker store."""

from __future__ import annotations

import sqlalchemy as sa


class TrackerEvents:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True)
        self.events = sa.Table("events", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                               sa.Column("sender_id", sa.String), sa.Column("timestamp", sa.Float))

    def _exists(self) -> bool:
        return sa.inspect(self.engine).has_table("events")

    def forget(self, sender_id: str) -> int:
        if not self._exists():  # Rasa has not stored anything yet
            return 0
        with self.engine.begin() as db:
            return int(db.execute(self.events.delete().where(self.events.c.sender_id == sender_id)).rowcount)

    def purge(self, cutoff: float) -> int:
        if not self._exists():
            return 0
        with self.engine.begin() as db:
            return int(db.execute(self.events.delete().where(self.events.c.timestamp < cutoff)).rowcount)

    def close(self) -> None:
        self.engine.dispose()
