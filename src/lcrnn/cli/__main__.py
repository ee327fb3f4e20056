"""`python -m lcrnn.cli`: the same entry point as the `lcrnn` command."""

from lcrnn.cli import app

app()
