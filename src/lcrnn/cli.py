"""The `lcrnn` command: one entry point, one sub-command per job.

Each sub-command is a thin shell over a library function, so everything here is also reachable from Python.
Heavy imports (torch, astropy, matplotlib) happen inside the commands to keep `lcrnn --help` fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

# Option defaults are read from the configs (the one source of every hyperparameter); both modules are
# torch-free, so `lcrnn --help` stays quick.
from lcrnn.model.config import NetworkConfig
from lcrnn.train.config import TrainConfig

app = typer.Typer(
    help="Classify astronomical light curves in real time with recurrent neural networks.",
    no_args_is_help=True,
    add_completion=False,
)


@contextmanager
def _option_errors() -> Iterator[None]:
    """A config that refuses an option value is the user's to fix: say which, without a traceback."""
    try:
        yield
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@contextmanager
def _model_errors() -> Iterator[None]:
    """A --model that is not a run directory (the one rule in lcrnn.train.run_dir) is a bad option value."""
    from lcrnn.train.run_dir import NotARunError

    try:
        yield
    except NotARunError as error:
        raise typer.BadParameter(str(error), param_hint="--model") from None


def _run_dir(path: Path) -> Path:
    """The --model directory, checked before slow work starts."""
    from lcrnn.train.run_dir import require_run_dir

    with _model_errors():
        return require_run_dir(path)


@app.command()
def version() -> None:
    """Print the installed lcrnn version."""
    from lcrnn.version import __version__

    typer.echo(__version__)


# --- sub-commands are added below, one block per job -------------------------------------------------


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Survey directory: photometry, objects (with label), galaxies.")],
    out: Annotated[Path, typer.Option(help="Run directory to write (model, config, history, metrics, figure).")],
    rnn: Annotated[str, typer.Option(help="Recurrent cell: gru or lstm.")] = NetworkConfig.rnn,
    loss: Annotated[str, typer.Option(help="ce (unweighted), wce (weighted CE) or focal (weighted focal).")]
    = TrainConfig.loss,
    gamma: Annotated[float, typer.Option(help="Focal-loss gamma.")] = TrainConfig.gamma,
    hidden: Annotated[int, typer.Option(help="RNN output size (paper: 100 or 150).")] = NetworkConfig.hidden,
    dense: Annotated[int, typer.Option(help="Neurons in each dense layer (paper: 100 or 200).")] = NetworkConfig.dense,
    epochs: Annotated[int, typer.Option(help="Training epochs (paper: 200).")] = TrainConfig.epochs,
    lr: Annotated[float, typer.Option(help="Adam learning rate (paper: 1e-4).")] = TrainConfig.lr,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size (paper: 128).")] = TrainConfig.batch_size,
    no_context: Annotated[bool, typer.Option("--no-context", help="Light curve only (paper section 5.4).")]
    = not NetworkConfig.use_context,
    max_len: Annotated[int, typer.Option(help="Observations read per light curve (paper: 30).")]
    = NetworkConfig.max_len,
    stratified_batches: Annotated[bool, typer.Option(help="Class-stratified mini-batches.")]
    = TrainConfig.stratified_batches,
    early_stopping: Annotated[int | None, typer.Option(help="Stop after N epochs without a better val AUC.")]
    = TrainConfig.early_stopping,
    select_by: Annotated[str, typer.Option(
        help="Epoch kept: val_auc (the paper's) or val_loss (steadier on small validation sets).")]
    = TrainConfig.select_by,
    seed: Annotated[int, typer.Option(help="Seed for the split, weights and batch order.")] = TrainConfig.seed,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = TrainConfig.device,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore an interrupted run's checkpoint.")] = False,
) -> None:
    """Train a classifier; an interrupted run resumes from OUT/checkpoint when rerun."""
    from lcrnn.classifier import Classifier
    from lcrnn.data.io import read_survey
    from lcrnn.workflows.train_run import train_run

    with _option_errors():  # before reading the survey, which may be large
        network = NetworkConfig(rnn=rnn, hidden=hidden, dense=dense, use_context=not no_context, max_len=max_len)
        settings = TrainConfig(loss=loss, gamma=gamma, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                               stratified_batches=stratified_batches, early_stopping=early_stopping,
                               select_by=select_by, device=device)
        clf = Classifier(network=network, train=settings)
    survey = read_survey(data)
    metrics = train_run(clf, survey, out, resume=not fresh)
    val, test = metrics["validation"], metrics["test"]
    typer.echo(f"{out}: best epoch {metrics['best_epoch']}, validation AUC {val['auc_hand_till']:.4f} "
               f"(F1 {val['f1_macro']:.3f}), test AUC {test['auc_hand_till']:.4f} (F1 {test['f1_macro']:.3f})")


@app.command()
def predict(
    model: Annotated[Path, typer.Option(help="Run directory written by `lcrnn train`.")],
    data: Annotated[Path, typer.Option(help="Survey directory with photometry and objects (galaxies optional).")],
    out: Annotated[Path, typer.Option(help="CSV to write: object_id, p_<class>..., predicted.")],
    first_n: Annotated[int | None, typer.Option(help="Use only each light curve's first N observations.")] = None,
    split: Annotated[str, typer.Option(help="all, or only the objects of the model's train/val/test split.")] = "all",
    chunk_rows: Annotated[int | None, typer.Option(
        help="Stream photometry.parquet in chunks of this many rows (memory flat in the number of objects); "
             "needs photometry grouped by object_id and objects.parquet in the same object order.")] = None,
) -> None:
    """Classify every object of a survey directory with a trained model."""
    import numpy as np

    from lcrnn.classifier import Classifier
    from lcrnn.data.io import read_survey

    with _model_errors():
        clf = Classifier.load(model)
    if chunk_rows is not None:
        from lcrnn.data.io import read_table
        from lcrnn.workflows.predict_stream import predict_parquet

        if split != "all":
            raise typer.BadParameter("--split needs the whole table; drop it with --chunk-rows",
                                     param_hint="--split")
        galaxy_files = [data / f"galaxies.{ext}" for ext in ("parquet", "csv") if (data / f"galaxies.{ext}").exists()]
        galaxies = read_table(galaxy_files[0], kind="galaxies") if galaxy_files else None
        n = predict_parquet(clf, data / "photometry.parquet", data / "objects.parquet", out, galaxies,
                            chunk_rows=chunk_rows, first_n=first_n)
        typer.echo(f"wrote {n} predictions to {out} (streamed, {chunk_rows} photometry rows per chunk)")
        return
    survey = read_survey(data)
    frame = clf.predict(survey.photometry, survey.objects, survey.galaxies, first_n=first_n)
    if split != "all":
        if clf.split_ is None:
            raise typer.BadParameter("this model recorded no split; use --split all", param_hint="--split")
        frame = frame[clf.split_.part_of(frame["object_id"].to_numpy()) == split].reset_index(drop=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    message = f"wrote {len(frame)} predictions to {out}"
    if "label" in survey.objects.columns and len(frame):
        from lcrnn.evaluate.metrics import hand_till_auc

        truth = survey.objects.set_index("object_id").loc[frame["object_id"], "label"].astype(str).to_numpy()
        known = np.isin(truth, clf.classes_)
        position = {c: i for i, c in enumerate(clf.classes_)}
        codes = np.array([position[t] for t in truth[known]], dtype=np.int64)
        proba = frame.loc[known, [f"p_{c}" for c in clf.classes_]].to_numpy()
        auc = hand_till_auc(codes, proba)
        message += f"; Hand & Till AUC against the labels: {auc:.4f}"
    typer.echo(message)


@app.command()
def reproduce(
    out: Annotated[Path, typer.Option(help="Directory for the data, runs, figures and report.")] = Path("runs/quick"),
    profile: Annotated[str, typer.Option(help="quick (one GRU focal model, ~15 min on 2 cores) or paper (full grid).")] = "quick",
    data: Annotated[Path | None, typer.Option(help="Use this survey directory instead of simulating one.")] = None,
    n_objects: Annotated[int | None, typer.Option(help="Simulate this many objects instead of the paper's 99,201.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the simulation, split and training.")] = 0,
    workers: Annotated[int, typer.Option(help="Grid workers on this machine (paper profile).")] = 1,
    storage: Annotated[str | None, typer.Option(help="Optuna storage URL shared by grid workers (paper profile).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Override the profile's epochs per model.")] = None,
) -> None:
    """The main job: simulate the survey, describe it, train, classify the test split and write the report."""
    from lcrnn.workflows.reproduce import reproduce as run_reproduce

    run_reproduce(out=out, profile=profile, data=data, n_objects=n_objects, seed=seed, workers=workers,
                  storage=storage, epochs=epochs, echo=typer.echo)


@app.command()
def grid(
    data: Annotated[Path, typer.Option(help="Survey directory: photometry, objects (with label), galaxies.")],
    out: Annotated[Path, typer.Option(help="Grid directory: trials/<config>/, grid.db, table2.md/.csv, report/.")],
    storage: Annotated[str | None, typer.Option(
        help="SQLAlchemy URL of the Optuna store shared by all workers (default sqlite:///OUT/grid.db), "
             "e.g. postgresql+psycopg://user@host:5432/db.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes on this machine.")] = 1,
    epochs: Annotated[int, typer.Option(help="Training epochs per grid point (paper: 200).")]
    = TrainConfig.epochs,
    configs: Annotated[list[str] | None, typer.Option(
        help="Grid points to run instead of the paper grid (repeat or comma-separate), "
             "e.g. gru-focal-g2-h150-d200,lstm-wce-h100-d200,gru-nc-focal-g1-h100-d100.")] = None,
    lr: Annotated[float, typer.Option(help="Adam learning rate (paper: 1e-4).")] = TrainConfig.lr,
    study_name: Annotated[str, typer.Option(help="Optuna study name; every worker of one grid uses the same.")]
    = "lcrnn-grid",
    batch_size: Annotated[int, typer.Option(help="Mini-batch size (paper: 128).")] = TrainConfig.batch_size,
    seed: Annotated[int, typer.Option(help="Seed for the split, weights and batch order of every point.")]
    = TrainConfig.seed,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda (this worker's own).")] = TrainConfig.device,
    heartbeat: Annotated[int, typer.Option(
        help="Seconds between heartbeats of a running trial; one silent for 2x this is retried.")] = 30,
    report: Annotated[bool, typer.Option(help="Evaluate the Table 2 models together into OUT/report/.")] = True,
) -> None:
    """Run the paper's hyperparameter grid (Table 1, section 5.4) with Optuna; write Table 2.

    Start more workers on other machines with the same command, --storage and --study-name (and --workers 1):
    they share the grid and no point is trained twice. Rerunning resumes an interrupted grid.
    """
    from lcrnn.grid import GridConfig, parse_configs, run_grid, summarise_grid

    with _option_errors():
        shared = TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, device=device)
    config = GridConfig(specs=parse_configs(configs), train=shared)
    results = run_grid(data, out, config, storage=storage, study_name=study_name, workers=workers,
                       heartbeat_interval=heartbeat)
    table = summarise_grid(out, storage=storage, study_name=study_name, data=data, report=report)
    typer.echo((out / "table2.md").read_text())
    n_done = int((results["n_complete"] > 0).sum())
    typer.echo(f"{n_done} of {len(results)} grid points finished; {len(table)} Table 2 rows in {out / 'table2.md'}")
    if n_done < len(results):
        typer.echo("some grid points did not finish: rerun the same command to resume them", err=True)
        raise typer.Exit(code=1)


@app.command("import")
def import_data(
    source: Annotated[str, typer.Argument(help="Which data: mantra, osc or gwgc.")],
    src: Annotated[Path, typer.Argument(help="The data folder (or gwgc_good.csv).")],
    out: Annotated[Path, typer.Option(help="Survey directory to write (Parquet tables).")],
    exclude_uncertain: Annotated[bool, typer.Option(
        "--exclude-uncertain", help="Leave out objects with uncertain labels (SN?, Blazar?).")] = False,
    mapping: Annotated[Path | None, typer.Option(help="Label mapping file (default: the packaged one).")] = None,
    galaxies: Annotated[Path | None, typer.Option(help="GWGC catalogue (file or folder) to carry along.")] = None,
    bands: Annotated[str | None, typer.Option(
        help="OSC: comma-separated bands to keep, or 'all' (default: the group near GOTO L).")] = None,
    min_detections: Annotated[int, typer.Option(help="OSC: fewest detections an event needs.")] = 3,
    resample: Annotated[bool, typer.Option(
        "--resample", help="Write GOTO-like light curves (lcrnn.data.resample, default settings).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the resampling.")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace tables already in OUT.")] = False,
) -> None:
    """Read real survey data (MANTRA, the Open Supernova Catalog, GWGC) into lcrnn's tables."""
    from lcrnn.data.io import write_survey
    from lcrnn.data.labels import load_label_map
    from lcrnn.data.real import L_LIKE_BANDS, read_gwgc, read_mantra, read_osc
    from lcrnn.data.tables import validate_survey

    kind = source.lower()
    if kind not in ("mantra", "osc", "gwgc"):
        raise typer.BadParameter(f"unknown source {source!r}; use mantra, osc or gwgc", param_hint="SOURCE")
    if kind == "gwgc":
        table = read_gwgc(src)
        out.mkdir(parents=True, exist_ok=True)
        target = out / "galaxies.parquet"
        if target.exists() and not overwrite:
            raise typer.BadParameter(f"{target} exists; pass --overwrite to replace it", param_hint="--out")
        table.to_parquet(target, index=False)
        typer.echo(f"wrote {len(table)} galaxies to {target}")
        return
    label_map = load_label_map(mapping)
    gals = read_gwgc(galaxies) if galaxies is not None else None
    if kind == "mantra":
        survey = read_mantra(src, include_uncertain=not exclude_uncertain, mapping=label_map, galaxies=gals)
    else:
        chosen = L_LIKE_BANDS if bands is None else None if bands == "all" else tuple(bands.split(","))
        survey = read_osc(src, bands=chosen, min_detections=min_detections,
                          include_uncertain=not exclude_uncertain, mapping=label_map, galaxies=gals)
    if resample:
        from lcrnn.data.resample import resample_photometry

        photometry = resample_photometry(survey.photometry, survey.objects, seed=seed)
        objects = survey.objects[survey.objects["object_id"].isin(photometry["object_id"])]
        survey, _ = validate_survey(photometry, objects, survey.galaxies, classes=label_map.classes)
    write_survey(survey, out, overwrite=overwrite)
    counts = ", ".join(f"{k} {v}" for k, v in survey.class_counts().items())
    typer.echo(f"wrote {survey.n_objects} objects ({counts}) and {len(survey.photometry)} observations to {out}")


@app.command()
def label(
    objects: Annotated[Path, typer.Option(help="Objects table (object_id, ra, dec), Parquet or CSV.")],
    catalog: Annotated[list[Path], typer.Option(
        help="Catalogue of known sources with RA, Dec and a type column (repeat for several).")],
    out: Annotated[Path, typer.Option(help="Labelled objects to write (.csv or .parquet); conflicts go next to it.")],
    radius: Annotated[float, typer.Option(help="Match radius in arcsec.")] = 2.0,
    mapping: Annotated[Path | None, typer.Option(help="Type-to-class mapping file (default: VS/SN/AGN).")] = None,
    exclude_uncertain: Annotated[bool, typer.Option(
        "--exclude-uncertain", help="Do not count uncertain catalogue types (SN?, EA:).")] = False,
    ra_column: Annotated[str | None, typer.Option(help="RA column of the catalogues (default: auto).")] = None,
    dec_column: Annotated[str | None, typer.Option(help="Dec column of the catalogues (default: auto).")] = None,
    type_column: Annotated[str | None, typer.Option(help="Type column of the catalogues (default: auto).")] = None,
) -> None:
    """Label objects by cross-match with catalogues of known sources (paper section 2.2).

    Objects whose catalogues name different classes stay unlabelled and are listed in OUT's
    `<stem>.conflicts.csv`.
    """
    from lcrnn.data.formats import TABLE_FORMATS, file_format, write_table
    from lcrnn.data.io import read_table
    from lcrnn.data.labels import cross_match_labels, load_label_map, read_catalog

    with _option_errors():  # before the cross-match, which may be slow
        file_format(out, TABLE_FORMATS)
    table = read_table(objects, kind="objects")
    catalogs = [read_catalog(path, ra_column=ra_column, dec_column=dec_column, type_column=type_column)
                for path in catalog]
    result = cross_match_labels(table, catalogs, radius_arcsec=radius, mapping=load_label_map(mapping),
                                include_uncertain=not exclude_uncertain)
    labelled = table.drop(columns=["label"], errors="ignore").merge(
        result.labels[["object_id", "label"]], on="object_id", how="left")
    write_table(labelled, out)
    conflicts_path = out.with_name(out.name.split(".")[0] + ".conflicts.csv")
    result.conflicts.to_csv(conflicts_path, index=False)
    counts = ", ".join(f"{k} {v}" for k, v in result.class_counts().items()) or "none"
    typer.echo(f"labelled {int(labelled['label'].notna().sum())} of {len(labelled)} objects ({counts}); "
               f"{result.n_conflicts} conflicts written to {conflicts_path}; labels written to {out}")


@app.command()
def evaluate(
    model: Annotated[list[Path], typer.Option(help="Run directory of a trained model (repeat to compare several).")],
    data: Annotated[Path, typer.Option(help="Labelled survey directory: photometry, objects, galaxies.")],
    out: Annotated[Path, typer.Option(help="Report directory: report.html, metrics.json and the figures.")],
    split: Annotated[str, typer.Option(help="test, val (each model's own split) or all objects.")] = "test",
    threshold: Annotated[list[float], typer.Option(help="Probability cut for the TPR/FPR table (repeatable).")]
    = [0.7],  # noqa: B006 - typer reads the default list, never mutates it
    tsne_samples: Annotated[int, typer.Option(help="Most objects in the t-SNE maps (rare classes kept).")] = 2000,
    max_obs: Annotated[int, typer.Option(help="AUC against the first 1..MAX_OBS observations (paper: 30).")] = 30,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Evaluate trained models as in the paper (Table 2, Table 3, Figs 6-12) into an offline HTML report."""
    from lcrnn.classifier import Classifier
    from lcrnn.data.io import read_survey
    from lcrnn.evaluate.report import build_report, summary_table

    if split not in ("test", "val", "all"):
        raise typer.BadParameter(f"unknown split {split!r}; use test, val or all", param_hint="--split")
    with _model_errors():
        models = [Classifier.load(path) for path in model]
    survey = read_survey(data)
    results = build_report(models, survey.photometry, survey.objects, survey.galaxies, out, split=split,
                           thresholds=threshold, tsne_samples=tsne_samples, n_obs_values=range(1, max_obs + 1),
                           progress=progress)
    typer.echo(summary_table(results).to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))
    typer.echo(f"report written to {out / 'report.html'} (numbers in {out / 'metrics.json'})")


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Directory to write photometry, objects and galaxies Parquet files.")],
    n_objects: Annotated[int, typer.Option(help="Labelled objects (paper: 99,201 = 98,457 VS, 201 SN, 543 AGN).")]
    = 99_201,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same survey.")] = 0,
    galaxy_catalog: Annotated[str, typer.Option(
        help="Catalogue the context is computed against: glade (the paper's) or gwgc (shallow, to 100 Mpc).")]
    = "glade",
    population: Annotated[str, typer.Option(
        help="Source subtype mix: survey (VSX/Veron-like) or transient (labels found by brightening: dwarf "
             "novae, flare stars, blazars).")] = "survey",
    min_abs_b: Annotated[float, typer.Option(
        help="Survey footprint: no fields within this many degrees of the Galactic plane (CRTS: ~15).")] = 0.0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace survey tables already in OUT.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = False,
) -> None:
    """Simulate a GOTO-like labelled survey (paper section 2) and write it as Parquet."""
    import time

    from lcrnn.data.io import write_survey
    from lcrnn.data.simulate import SOURCE_POPULATIONS, SimulationConfig, simulate_survey

    if n_objects < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--n-objects")
    if population not in SOURCE_POPULATIONS:
        raise typer.BadParameter(f"choose one of {', '.join(SOURCE_POPULATIONS)}", param_hint="--population")
    with _option_errors():
        config = SimulationConfig(n_objects=n_objects, seed=seed, galaxy_catalog=galaxy_catalog,
                                  min_abs_b_deg=min_abs_b, **SOURCE_POPULATIONS[population])
    start = time.perf_counter()
    survey = simulate_survey(config, progress=progress)
    write_survey(survey, out, overwrite=overwrite)
    counts = ", ".join(f"{k} {v}" for k, v in survey.objects["label"].value_counts().items())
    typer.echo(f"simulated {survey.n_objects} objects ({counts}), {len(survey.photometry)} points, "
               f"{len(survey.galaxies)} galaxies in {time.perf_counter() - start:.1f} s; written to {out}")


@app.command()
def describe(
    data: Annotated[Path, typer.Option(help="Survey directory: photometry, objects (label optional), galaxies.")],
    out: Annotated[Path, typer.Option(help="Directory for summary.json and the paper's Figs 1-3 as PNG.")],
) -> None:
    """Per-class statistics of a survey (paper section 2.2) and its Figs 1-3."""
    from lcrnn.data.io import read_survey
    from lcrnn.workflows.reproduce import describe_to_directory

    summary, figures = describe_to_directory(read_survey(data), out)
    typer.echo(summary)
    typer.echo(f"statistics written to {Path(out) / 'summary.json'}; figures: {', '.join(p.name for p in figures)}")


# --- serve / ingest: real-time classification (issue 6) ----------------------------------------------


@app.command()
def serve(
    model: Annotated[Path, typer.Option(help="Trained run directory (written by Classifier.save / lcrnn train).")],
    db: Annotated[str, typer.Option(help="State store: sqlite:///lcrnn.db or postgresql+psycopg://user@host/db.")],
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to bind; 0.0.0.0 exposes the service to the network.")] = "127.0.0.1",
    galaxies: Annotated[Path | None, typer.Option(help="Galaxy catalogue (Parquet/CSV with ra, dec).")] = None,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body accepted (413 above).")] = 4_000_000,
    torch_threads: Annotated[int, typer.Option(help="Torch CPU threads (one step per request is tiny).")] = 1,
) -> None:
    """Serve real-time classifications over HTTP (and a web page at /ui/); writes need LCRNN_API_TOKEN."""
    import os

    import torch
    import uvicorn

    from lcrnn.serve.app import ServeConfig, create_app

    _run_dir(model)
    if not os.environ.get("LCRNN_API_TOKEN"):
        typer.echo("warning: LCRNN_API_TOKEN is not set, so every write will be refused (403).", err=True)
    torch.set_num_threads(torch_threads)
    config = ServeConfig(model_dir=model, db_url=db, galaxies_path=galaxies, max_body_bytes=max_body_bytes)
    uvicorn.run(create_app(config), host=host, port=port, log_level="info")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Photometry CSV/Parquet files, .avro alerts, or folders of them.")],
    db: Annotated[str, typer.Option(help="State store URL (as for lcrnn serve).")],
    model: Annotated[Path, typer.Option(help="Trained run directory; must be the model the store was filled with.")],
    objects: Annotated[Path | None, typer.Option(help="Positions (object_id, ra, dec) for tables without them.")] = None,
    galaxies: Annotated[Path | None, typer.Option(help="Galaxy catalogue (Parquet/CSV with ra, dec).")] = None,
    batch_size: Annotated[int, typer.Option(help="Observations per transaction.")] = 2000,
    on_invalid: Annotated[str, typer.Option(help="raise: stop at a bad row; drop: drop and count bad rows.")] = "raise",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Feed photometry tables and ZTF Avro alerts into the state store, classifying as they go."""
    import time

    from lcrnn.data.io import read_table
    from lcrnn.serve.app import ClassificationService
    from lcrnn.serve.ingest import ingest_files

    if on_invalid not in ("raise", "drop"):
        raise typer.BadParameter("must be 'raise' or 'drop'", param_hint="--on-invalid")
    gal = read_table(galaxies, "galaxies") if galaxies is not None else None
    pos = read_table(objects, "objects")[["object_id", "ra", "dec"]] if objects is not None else None
    with _model_errors():
        service = ClassificationService.from_run(model, db, gal)
    start = time.perf_counter()
    try:
        s = ingest_files(paths, service, objects=pos, batch_size=batch_size, on_invalid=on_invalid, progress=progress)
    finally:
        service.store.close()
    dropped = f", dropped {s.dropped}" if s.dropped else ""
    typer.echo(
        f"{s.files} file(s): {s.registered} new object(s), {s.accepted} detection(s) classified, "
        f"{s.duplicates} repeat(s) ignored, {s.upper_limits} upper limit(s), {s.rebuilt} rebuild(s){dropped} "
        f"in {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
