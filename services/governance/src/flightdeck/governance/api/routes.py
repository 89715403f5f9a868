"""HTTP routes of the governance service."""

from fastapi import APIRouter

router = APIRouter()
