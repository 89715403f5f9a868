"""Tables of the executor service."""

from sqlalchemy import MetaData

metadata = MetaData()
