"""Background jobs. To add one: write an async function in a module here, decorated with
`@queue.task(retry=DEFAULT_RETRY)` (see example.py); in a route, call
`await enqueue(session, your_task, arg=...)` before the write's commit. It runs once the write
commits, in the worker (`python -m app.worker`), or inside the API with the SQLite default.
"""
