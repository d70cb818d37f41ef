"""The `hidt` command line: one module per command, wired together in app.py."""
