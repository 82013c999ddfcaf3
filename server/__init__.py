"""Composition root: the ASGI app, its lifespan, the `loyalty` CLI and the jobs."""
