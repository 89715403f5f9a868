"""Tables of the validation service."""

from sqlalchemy import MetaData

metadata = MetaData()
