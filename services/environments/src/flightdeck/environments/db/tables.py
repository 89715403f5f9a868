"""Tables of the environments service."""

from sqlalchemy import MetaData

metadata = MetaData()
