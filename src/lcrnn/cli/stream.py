"""Alerts from Kafka (issue 17): ``lcrnn stream``, a consumer-group worker classifying as alerts come."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lcrnn.cli._common import Galaxies, NoGalaxies, _model_errors, _option_errors, app
from lcrnn.cli.service import SERVED_BAND_HELP, MjdRangeOption, _no_galaxies
from lcrnn.data.checks import MjdRange


@app.command()
def stream(
    bootstrap_servers: Annotated[str, typer.Option(help="Kafka brokers, host:port[,host:port].")],
    topic: Annotated[list[str], typer.Option(help="Alert topic to read (repeat for several).")],
    model: Annotated[Path, typer.Option(
        help="Trained run directory, or a shipped model's name (lcrnn models); must be the model the store "
             "was filled with.")],
    db: Annotated[str, typer.Option(help="State store URL (as for lcrnn serve); PostgreSQL for several workers.")],
    group: Annotated[str, typer.Option(help="Consumer group: workers with the same group share the partitions.")] = "lcrnn",
    output_topic: Annotated[str | None, typer.Option(
        help="Topic for one JSON classification per alert (schema: lcrnn.serve.stream.classifications).")] = None,
    dead_letter_topic: Annotated[str | None, typer.Option(
        help="Topic for malformed or refused messages (default: the first topic's name + .dead-letter).")] = None,
    galaxies: Galaxies = None,
    no_galaxies: NoGalaxies = False,
    band: Annotated[str | None, typer.Option(help=SERVED_BAND_HELP + " Detections in other bands are skipped "
                                             "and counted.")] = None,
    schema: Annotated[Path | None, typer.Option(
        help="Writer's .avsc for single-object or schemaless messages (Avro container messages carry theirs).")] = None,
    batch_size: Annotated[int, typer.Option(help="Most messages per poll, stored in one transaction.")] = 2000,
    kafka: Annotated[list[str] | None, typer.Option(
        help="Extra librdkafka setting KEY=VALUE (repeat): security.protocol, session.timeout.ms, ...")] = None,
    stop_when_idle: Annotated[float | None, typer.Option(
        help="Stop after this many seconds without a message (replays, benchmarks); default: run until SIGTERM.")] = None,
    log_every: Annotated[float, typer.Option(help="Seconds between progress lines.")] = 10.0,
    mjd_range: MjdRangeOption = (MjdRange.low, MjdRange.high),
    torch_threads: Annotated[int, typer.Option(help="Torch CPU threads (one step per alert is tiny).")] = 1,
) -> None:
    """Classify ZTF-style Avro alerts from Kafka topics into the state store, publishing each classification."""
    import logging
    import signal

    import torch

    from lcrnn.data.io import read_table
    from lcrnn.serve.app import ClassificationService
    from lcrnn.serve.stream import StreamConfig, StreamWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(torch_threads)
    with _option_errors():
        times = MjdRange(*mjd_range)
        config = StreamConfig(
            bootstrap_servers=bootstrap_servers, topics=tuple(topic), group=group, output_topic=output_topic,
            dead_letter_topic=dead_letter_topic, batch_size=batch_size, stop_when_idle_s=stop_when_idle,
            log_every_s=log_every, schema_path=schema, kafka=_settings(kafka or []))
    gal = read_table(galaxies, "galaxies") if galaxies is not None else None
    with _model_errors():
        service = ClassificationService.from_run(
            model, db, gal, allow_missing_catalogue=_no_galaxies(galaxies, no_galaxies), band=band, mjd_range=times)
    try:
        with _option_errors():
            worker = StreamWorker(service, config)
        signal.signal(signal.SIGTERM, worker.stop)  # drain: finish the batch, commit, leave the group
        signal.signal(signal.SIGINT, worker.stop)
        stats = worker.run()
    finally:
        service.store.close()
    typer.echo(f"stream stopped: {stats.line()}")


def _settings(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    """``KEY=VALUE`` options as librdkafka settings."""
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE (e.g. session.timeout.ms=6000)", param_hint="--kafka")
        out.append((key.strip(), value.strip()))
    return tuple(out)
