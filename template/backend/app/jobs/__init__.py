"""The job queue (queue.py) and its own housekeeping. A domain's jobs live in its jobs.py
(app/accounts/jobs.py): an async function decorated with `@queue.task(retry=DEFAULT_RETRY)`; a
route calls `await enqueue(session, your_task, arg=...)` before the write's commit. It runs once
the write commits, in the worker (`python -m app.worker`), or inside the API with the SQLite
default.
"""
