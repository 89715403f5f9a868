"""HTTP routes of the executor service."""

from fastapi import APIRouter

router = APIRouter()
