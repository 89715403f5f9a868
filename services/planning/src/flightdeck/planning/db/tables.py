"""Tables of the planning service."""

from sqlalchemy import MetaData

metadata = MetaData()
