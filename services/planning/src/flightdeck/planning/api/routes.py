"""HTTP routes of the planning service."""

from fastapi import APIRouter

router = APIRouter()
