"""`hidt serve`: the local web page (hidt studio) and its HTTP API. The server (hidt_cli.serve.app)
needs the optional serve extra and is imported only when the command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hidt_cli.cli import common
from hidt_cli.cli.common import fail
from hidt_cli.cli.grouping import grouped
from hidt_cli.cli.options import Debug, ModelOptions
from hidt_cli.serve import settings
from hidt_cli.serve.security import required_token


@grouped
def serve(
    folder: Annotated[
        Path | None, typer.Argument(help="Offer this folder's photos in the page (by id).")
    ] = None,
    *,
    host: Annotated[
        str, typer.Option(help="Address to listen on; any but loopback needs a token.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")
    ] = settings.DEFAULT_PORT,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in a browser.")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(help="Require this token (default: a random one when not on loopback)."),
    ] = None,
    max_pixels: Annotated[
        int, typer.Option(min=1, help="Refuse photos with more pixels than this.")
    ] = settings.DEFAULT_MAX_PIXELS,
    max_upload_mb: Annotated[
        int, typer.Option(min=1, help="Refuse larger uploads.")
    ] = settings.DEFAULT_MAX_UPLOAD_BYTES // 2**20,
    cache_mb: Annotated[
        int, typer.Option(min=64, help="Memory for decoded photos and renders.")
    ] = settings.DEFAULT_CACHE_BYTES // 2**20,
    model: ModelOptions,
    debug: Debug = False,
) -> None:
    """Explore the styles of your photos in a local web page; export at full size."""
    with common.reported_errors(debug):
        if folder is not None and not folder.is_dir():
            fail(f"{folder}: not a folder", common.EXIT_INPUT)
        try:
            from hidt_cli.serve import app
        except ImportError as exc:
            fail(f"hidt serve needs the serve extra: pip install -e '.[serve]' ({exc})")
        net = common.load_model(model)
        chosen = settings.ServeSettings(
            host=host,
            port=port,
            token=required_token(host, token),
            folder=folder,
            max_upload_bytes=max_upload_mb * 2**20,
            max_pixels=max_pixels,
            inference_size=model.inference_size,
            cache_bytes=cache_mb * 2**20,
        )
        app.serve(net, chosen, open_browser=open_browser, say=lambda line: common.note(line, False))
