"""HTTP routes of the metrics service."""

from fastapi import APIRouter

router = APIRouter()
