"""The FastAPI application: routers are mounted here."""

from fastapi import FastAPI

from app.core.config import get_settings

settings = get_settings()
app = FastAPI(title=settings.project_name)


@app.get("/health/live", tags=["health"])
async def live() -> dict[str, str]:
    """200 while the process runs: the liveness probe for compose and Kubernetes."""
    return {"status": "ok"}
