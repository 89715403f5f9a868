"""HTTP routes of the validation service."""

from fastapi import APIRouter

router = APIRouter()
