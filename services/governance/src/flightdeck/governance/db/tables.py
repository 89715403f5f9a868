"""Tables of the governance service."""

from sqlalchemy import MetaData

metadata = MetaData()
