"""HTTP routes of the environments service."""

from fastapi import APIRouter

router = APIRouter()
