"""The bench's floor: a minimal FastAPI app, one route returning a dict. The `bench` session serves
it with uvicorn (uvloop, httptools, one worker) from the rendered project's own environment, so the
CPU per request of NeoForge's routes is read as a multiple of what FastAPI itself costs here."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root() -> dict[str, str]:
    return {"status": "ok"}
