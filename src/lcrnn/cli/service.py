"""Real-time classification (issue 6): serve and ingest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lcrnn.cli._common import Galaxies, NoGalaxies, Priors, Raw, _model_errors, _option_errors, app
from lcrnn.data.checks import MjdRange

SERVED_BAND_HELP = ("The band(s) to classify, e.g. r, or r,R read as one; default: the band the model was "
                    "trained in. Observations in other bands are refused (a light curve is read in one band).")
MjdRangeOption = Annotated[tuple[float, float], typer.Option(
    help="Plausible observation times (MJD); others are refused (422 in the service).")]


@app.command()
def serve(
    model: Annotated[Path, typer.Option(help="Trained run directory (written by Classifier.save / lcrnn train), or "
                                           "a shipped model's name (`lcrnn models`).")],
    db: Annotated[str, typer.Option(help="State store: sqlite:///lcrnn.db or postgresql+psycopg://user@host/db.")],
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to bind; 0.0.0.0 exposes the service to the network.")] = "127.0.0.1",
    galaxies: Galaxies = None,
    no_galaxies: NoGalaxies = False,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body accepted (413 above).")] = 4_000_000,
    torch_threads: Annotated[int, typer.Option(help="Torch CPU threads (one step per request is tiny).")] = 1,
    mjd_range: MjdRangeOption = (MjdRange.low, MjdRange.high),
    band: Annotated[str | None, typer.Option(help=SERVED_BAND_HELP)] = None,
    raw: Raw = False,
    priors: Priors = None,
) -> None:
    """Serve real-time classifications over HTTP (and a web page at /ui/); writes need LCRNN_API_TOKEN."""
    import os

    import torch
    import uvicorn

    from lcrnn.data.io import read_table
    from lcrnn.serve.app import ServeConfig, create_app, open_service
    from lcrnn.train.run_dir import load_run

    # Everything the service will load is checked before uvicorn starts, so a mistake is one message here
    # rather than a failed start-up after the server has announced itself.
    with _model_errors():
        load_run(model)
    if galaxies is not None:
        read_table(galaxies, "galaxies")
    if not os.environ.get("LCRNN_API_TOKEN"):
        typer.echo("warning: LCRNN_API_TOKEN is not set, so every write will be refused (403).", err=True)
    torch.set_num_threads(torch_threads)
    with _option_errors():
        times = MjdRange(*mjd_range)
    config = ServeConfig(model_dir=model, db_url=db, galaxies_path=galaxies, max_body_bytes=max_body_bytes,
                         allow_missing_catalogue=_no_galaxies(galaxies, no_galaxies), mjd_range=times,
                         band=band, raw=raw, priors=priors)
    service = open_service(config)  # catalogue and store records checked (and the opt-out logged) before uvicorn
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
    typer.echo(f"web page: http://{shown}:{port}/ui/")  # where an observer points a browser
    uvicorn.run(create_app(config, service=service), host=host, port=port, log_level="info")


def _no_galaxies(galaxies: Path | None, no_galaxies: bool) -> bool:
    """The --no-galaxies opt-out, which contradicts --galaxies."""
    if no_galaxies and galaxies is not None:
        raise typer.BadParameter("give either --galaxies FILE or --no-galaxies, not both", param_hint="--no-galaxies")
    return no_galaxies

@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Photometry CSV/Parquet files, .avro alerts, or folders of them.")],
    db: Annotated[str, typer.Option(help="State store URL (as for lcrnn serve).")],
    model: Annotated[Path, typer.Option(
        help="Trained run directory, or a shipped model's name (lcrnn models); must be the model the store "
             "was filled with.")],
    objects: Annotated[Path | None, typer.Option(help="Positions (object_id, ra, dec) for tables without them.")] = None,
    galaxies: Galaxies = None,
    no_galaxies: NoGalaxies = False,
    batch_size: Annotated[int, typer.Option(help="Observations per transaction.")] = 2000,
    on_invalid: Annotated[
        str, typer.Option(help="raise: stop at a bad row, alert or file, naming it; drop: skip, log and count them.")
    ] = "raise",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    band: Annotated[str | None, typer.Option(help=SERVED_BAND_HELP + " With --band, they are skipped and counted.")] = None,
    mjd_range: MjdRangeOption = (MjdRange.low, MjdRange.high),
    position_tolerance_arcsec: Annotated[float, typer.Option(
        help="How far (arcsec) a known object's new position may lie and still be that object; farther is "
             "refused, or skipped and counted with --on-invalid drop.")] = 1.0,
    raw: Raw = False,
    priors: Priors = None,
) -> None:
    """Feed photometry tables and ZTF Avro alerts into the state store, classifying as they go."""
    import time

    from lcrnn.data.io import read_table
    from lcrnn.serve.app import ClassificationService
    from lcrnn.serve.ingest import ingest_files

    if on_invalid not in ("raise", "drop"):
        raise typer.BadParameter("must be 'raise' or 'drop'", param_hint="--on-invalid")
    gal = read_table(galaxies, "galaxies") if galaxies is not None else None
    pos = _positions(read_table(objects, "objects")) if objects is not None else None
    with _option_errors():
        times = MjdRange(*mjd_range)
    with _model_errors():
        service = ClassificationService.from_run(
            model, db, gal, position_tolerance_arcsec=position_tolerance_arcsec,
            allow_missing_catalogue=_no_galaxies(galaxies, no_galaxies), band=band, mjd_range=times, raw=raw,
            priors=priors)
    start = time.perf_counter()
    try:
        s = ingest_files(paths, service, objects=pos, batch_size=batch_size, on_invalid=on_invalid, progress=progress)
    finally:
        service.store.close()
    dropped = ", skipped " + ", ".join(f"{n} {why}" for why, n in s.dropped.items()) if s.dropped else ""
    typer.echo(
        f"{s.files} file(s): {s.registered} new object(s), {s.accepted} detection(s) classified, "
        f"{s.duplicates} repeat(s) ignored, {s.upper_limits} upper limit(s), {s.rebuilt} rebuild(s){dropped} "
        f"in {time.perf_counter() - start:.1f} s"
    )


def _positions(objects: Any) -> Any:
    """The objects given apart to ``lcrnn ingest``: positions, and the context when they carry it."""
    from lcrnn.data.schema import CONTEXT_COLUMNS

    carried = [c for c in CONTEXT_COLUMNS if c in objects.columns]
    return objects[["object_id", "ra", "dec", *carried]]
