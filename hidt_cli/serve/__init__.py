"""`hidt serve`: a local web page to explore the style space of a photo, compare and export,
over a documented HTTP API (docs/serve-api.md). An optional extra (`pip install -e
".[serve]"`): nothing here is imported by the rest of the package, and the command imports
it only when it runs.

settings.py  what the command line chose (host, token, limits)
engine.py    the one place that calls the model: photos in, rendered bytes out
store.py     photos by id (FOLDER's and uploads), decoded copies in a memory-bounded LRU
jobs.py      long work on a thread: apply to all, timelapse; progress and cancel
security.py  loopback by default, token, Host check, upload caps, response headers
routes.py    the HTTP API; errors as JSON {"error": "..."} with a 4xx status
app.py       the Starlette app and the uvicorn server with a clean Ctrl-C
static/      the page (plain HTML, CSS and JavaScript: no build step)
"""
