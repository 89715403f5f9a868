"""Tables of the metrics service."""

from sqlalchemy import MetaData

metadata = MetaData()
