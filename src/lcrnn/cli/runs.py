"""Sub-commands that train, apply and evaluate models: train, predict, evaluate, reproduce, grid."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from lcrnn.cli._common import (
    BAND_HELP,
    NoGalaxies,
    ON_INVALID_HELP,
    OnInvalid,
    Priors,
    Raw,
    _model_errors,
    _option_errors,
    app,
    check_device,
    parse_classes,
    read_survey_checked,
)
# Option defaults are read from the configs (the one source of every hyperparameter); both modules are
# torch-free, so `lcrnn --help` stays quick.
from lcrnn.model.config import NetworkConfig
from lcrnn.train.augment import ROBUST, AugmentConfig
from lcrnn.train.config import TrainConfig


class PredictSplit(str, Enum):
    """Which objects `lcrnn predict` classifies: all, or one part of the model's recorded split."""

    ALL = "all"
    TRAIN = "train"
    VAL = "val"
    TEST = "test"


class Profile(str, Enum):
    """`lcrnn reproduce` profiles (lcrnn.workflows.reproduce.PROFILES; a test keeps the two the same)."""

    QUICK = "quick"
    PAPER = "paper"


class ScalerPolicy(str, Enum):
    """`lcrnn train --init`: keep the starting run's feature scaler, or refit it on the new data."""

    KEEP = "keep"
    REFIT = "refit"


class PrefixWeights(str, Enum):
    """How the length of a random prefix is drawn: uniform, or weighted towards few observations."""

    UNIFORM = "uniform"
    EARLY = "early"


class OffsetErrors(str, Enum):
    """Errors of a light curve moved by a magnitude offset: follow the flux (with the matching scatter), or stay."""

    FLUX = "flux"
    NOISY = "noisy"
    KEEP = "keep"


# The options of `lcrnn train` that set the network: with --init they come from the run instead.
_NETWORK_OPTIONS = {"rnn": "rnn", "hidden": "hidden", "dense": "dense", "no_context": "use_context",
                    "max_len": "max_len", "features": "summary"}
_AUGMENT_OPTIONS = ("prefix", "prefix_weights", "time_jitter_days", "mag_offset", "offset_errors", "noise_scale",
                    "error_scale", "point_dropout")
_AUG = "Robust training"
_FT = "Fine-tuning"


class EvaluateSplit(str, Enum):
    """Which objects `lcrnn evaluate` scores: each model's own test or validation part, or all."""

    TEST = "test"
    VAL = "val"
    ALL = "all"


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user set option `name` (on the command line or through the environment), not its default."""
    source = ctx.get_parameter_source(name)  # an enum of click's, or of the click that typer vendors: by name
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _recipe() -> str:
    """The robust recipe as the options that give it."""
    flag = {name: "--" + name.replace("_days", "").replace("_", "-") for name in _AUGMENT_OPTIONS}
    return " ".join(f"{flag[name]} {getattr(ROBUST, name)}" for name in _AUGMENT_OPTIONS
                    if getattr(ROBUST, name) != getattr(AugmentConfig(), name))


def _network_asked(values: dict[str, Any]) -> NetworkConfig:
    """The network `lcrnn train`'s options ask for (before --init may replace it)."""
    from lcrnn.data.features import SHAPE_FEATURES  # light-curve loads only when training

    return NetworkConfig(rnn=values["rnn"], hidden=values["hidden"], dense=values["dense"],
                         use_context=not values["no_context"], max_len=values["max_len"],
                         summary=SHAPE_FEATURES if values["features"] else ())


def _network_of(ctx: typer.Context, init: Path | None, asked: NetworkConfig) -> NetworkConfig:
    """The network to train: as asked, or with --init the starting run's (a network option given with another
    value is an error naming it); the fine-tuning options without --init are an error too."""
    from lcrnn.train.finetune import refuse_conflicts
    from lcrnn.train.run_dir import NotARunError, load_run

    if init is None:
        for name in ("freeze_rnn_epochs", "scaler"):
            if _given(ctx, name):
                option = "--" + name.replace("_", "-")
                raise typer.BadParameter(f"{option} applies when fine-tuning; add --init RUN or drop {option}.",
                                         param_hint=option)
        return asked
    given = [name for name in _NETWORK_OPTIONS if _given(ctx, name)]
    try:
        run = load_run(init)
    except NotARunError as error:
        raise typer.BadParameter(str(error), param_hint="--init") from None
    refuse_conflicts(init, [f"--{name.replace('_', '-')} (the run has {field}={getattr(run.network_config, field)!r})"
                            for name, field in _NETWORK_OPTIONS.items()
                            if name in given and getattr(asked, field) != getattr(run.network_config, field)])
    return run.network_config


# Fine-tuning and robust-training options of `lcrnn train`, declared once here to keep the command readable.
InitOption = Annotated[Path | None, typer.Option(
    help="Fine-tune this run (a run directory, or a shipped model: `lcrnn models`): start from its weights, "
         "network settings and classes.",
    rich_help_panel=_FT)]
FreezeOption = Annotated[int, typer.Option(
    help="With --init: hold the recurrent layers fixed for the first K epochs.", rich_help_panel=_FT)]
ScalerOption = Annotated[ScalerPolicy, typer.Option(
    help="With --init: keep the run's feature scaler, or refit it on the new training data.", rich_help_panel=_FT)]
RobustOption = Annotated[bool, typer.Option(
    "--robust", help=f"The robust recipe: {_recipe()}; the options below override its values.",
    rich_help_panel=_AUG)]
PrefixOption = Annotated[float, typer.Option(
    help="Probability a training light curve is cut to a random first k observations each epoch.",
    rich_help_panel=_AUG)]
PrefixWeightsOption = Annotated[PrefixWeights, typer.Option(
    help="k uniform in 1..length, or weighted towards small k (P(k) ~ 1/k).", rich_help_panel=_AUG)]
JitterOption = Annotated[float, typer.Option(
    "--time-jitter", help="Gaussian sigma (days) of each observation time's shift.", rich_help_panel=_AUG)]
MagOffsetOption = Annotated[float, typer.Option(
    help="A source at another distance: one offset per light curve, uniform in +-MAG.", rich_help_panel=_AUG)]
OffsetErrorsOption = Annotated[OffsetErrors, typer.Option(
    help="Errors under a magnitude offset follow the flux (background-limited); noisy: and a source made fainter "
         "scatters as its larger errors say; keep: errors stay.", rich_help_panel=_AUG)]
NoiseScaleOption = Annotated[float, typer.Option(
    help="Noisier photometry, as from a smaller telescope: errors times one factor per light curve, log-uniform "
         "in [1, this], with the scatter they imply (1: off; CRTS's errors are 3-4 times GOTO's).",
    rich_help_panel=_AUG)]
ErrorScaleOption = Annotated[float, typer.Option(
    help="Sigma of the log of one error factor per light curve.", rich_help_panel=_AUG)]
PointDropoutOption = Annotated[float, typer.Option(
    help="Probability each observation is dropped (at least one kept).", rich_help_panel=_AUG)]


def _augment_of(ctx: typer.Context, values: dict[str, Any], robust: bool) -> AugmentConfig:
    """The augmentations asked for: the robust recipe (or none) with each option given on the line instead."""
    base = ROBUST if robust else AugmentConfig()
    return AugmentConfig(**{name: _plain(values[name]) if _given(ctx, name) else getattr(base, name)
                            for name in _AUGMENT_OPTIONS})


@app.command()
def train(
    ctx: typer.Context,
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
    features: Annotated[bool, typer.Option(
        "--features", help="The features branch: light-curve shape features (amplitude, skew, eta, ...) of the same "
                           "observations beside the RNN summary and the context.")] = False,
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
    classes: Annotated[str | None, typer.Option(
        help="Labels to train on, comma-separated (default: the paper's VS,SN,AGN); any other label is an "
             "error (or dropped with --on-invalid drop).")] = None,
    band: Annotated[str | None, typer.Option(help=BAND_HELP)] = None,
    on_invalid: Annotated[OnInvalid, typer.Option(help=ON_INVALID_HELP)] = OnInvalid.RAISE,
    init: InitOption = None,
    freeze_rnn_epochs: FreezeOption = TrainConfig.freeze_rnn_epochs,
    scaler: ScalerOption = ScalerPolicy.KEEP,
    robust: RobustOption = False,
    prefix: PrefixOption = AugmentConfig.prefix,
    prefix_weights: PrefixWeightsOption = PrefixWeights(AugmentConfig.prefix_weights),
    time_jitter_days: JitterOption = AugmentConfig.time_jitter_days,
    mag_offset: MagOffsetOption = AugmentConfig.mag_offset,
    offset_errors: OffsetErrorsOption = OffsetErrors(AugmentConfig.offset_errors),
    noise_scale: NoiseScaleOption = AugmentConfig.noise_scale,
    error_scale: ErrorScaleOption = AugmentConfig.error_scale,
    point_dropout: PointDropoutOption = AugmentConfig.point_dropout,
) -> None:
    """Train a classifier; an interrupted run resumes from OUT/checkpoint when rerun.

    --init RUN fine-tunes a trained run.
    --robust and the other augmentations change each training light curve at random every epoch.
    """
    import warnings

    from lcrnn.classifier import Classifier, KeptEpochWarning, check_labels
    from lcrnn.workflows.train_run import train_run
    values = locals()
    with _option_errors():  # before reading the survey, which may be large
        network = _network_of(ctx, init, _network_asked(values))
        settings = TrainConfig(loss=loss, gamma=gamma, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                               stratified_batches=stratified_batches, early_stopping=early_stopping,
                               select_by=select_by, device=check_device(device),
                               freeze_rnn_epochs=freeze_rnn_epochs)
        clf = Classifier(network=network, train=settings, augment=_augment_of(ctx, values, robust))
    labels = parse_classes(classes)
    expected = check_labels([], labels)
    survey = read_survey_checked(data, on_invalid, band, expected if on_invalid == OnInvalid.DROP else None)
    check_labels(survey.objects["label"] if "label" in survey.objects.columns else [], labels)
    if survey.has_labels:
        counts = survey.class_counts()
        typer.echo("classes: " + ", ".join(f"{c} {counts[c]}" for c in expected if c in counts.index))
    with warnings.catch_warnings():  # said once, at the end
        warnings.simplefilter("ignore", KeptEpochWarning)
        metrics = train_run(clf, survey, out, resume=not fresh, classes=labels, init=init, scaler=scaler.value)
    val, test = metrics["validation"], metrics["test"]
    typer.echo(f"{out}: best epoch {metrics['best_epoch']}, validation AUC {val['auc_hand_till']:.4f} "
               f"(F1 {val['f1_macro']:.3f}), test AUC {test['auc_hand_till']:.4f} (F1 {test['f1_macro']:.3f})")
    if metrics.get("note"):
        typer.echo(f"warning: {metrics['note']}", err=True)



@app.command()
def predict(
    model: Annotated[Path, typer.Option(help="Run directory written by `lcrnn train`, or a shipped model's name "
                                           "(`lcrnn models`: goto-sim).")],
    data: Annotated[Path, typer.Option(help="Survey directory with photometry and objects (galaxies optional).")],
    out: Annotated[Path, typer.Option(help="CSV to write: object_id, p_<class>..., predicted.")],
    first_n: Annotated[int | None, typer.Option(help="Use only each light curve's first N observations.")] = None,
    split: Annotated[PredictSplit, typer.Option(
        help="all, or only the objects of the model's train/val/test split.")] = PredictSplit.ALL,
    chunk_rows: Annotated[int | None, typer.Option(
        help="Stream photometry.parquet in chunks of this many rows (memory flat in the number of objects); "
             "needs photometry grouped by object_id and objects.parquet in the same object order.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Classify a partitioned catalogue (DATA/photometry/*.parquet, whole objects each) on Dask: local "
             "(a LocalCluster on this machine) or a scheduler's address, tcp://host:8786.")] = None,
    dask_workers: Annotated[int, typer.Option(help="Workers of the local Dask cluster (--scheduler local).")] = 2,
    band: Annotated[str | None, typer.Option(help=BAND_HELP)] = None,
    on_invalid: Annotated[OnInvalid, typer.Option(help=ON_INVALID_HELP)] = OnInvalid.RAISE,
    galaxies: Annotated[Path | None, typer.Option(
        help="Galaxy catalogue (Parquet/CSV with ra, dec) instead of DATA's galaxies table.")] = None,
    no_galaxies: NoGalaxies = False,
    raw: Raw = False,
    priors: Priors = None,
) -> None:
    """Classify every object of a survey directory with a trained model (calibrated probabilities)."""
    from lcrnn.classifier import Classifier
    from lcrnn.cli.service import _no_galaxies

    split = split.value
    with _model_errors():
        clf = Classifier.load(model)
    clf.allow_missing_catalogue = _no_galaxies(galaxies, no_galaxies)
    clf.raw, clf.priors = raw, priors
    with _option_errors():
        _ = clf.output_  # checks --priors against the model's classes before any work
    if split != "all" and clf.split_ is None:
        raise typer.BadParameter("this model recorded no split; use --split all", param_hint="--split")
    if scheduler is not None or chunk_rows is not None:
        from lcrnn.train.calibrate import refuse_auto

        with _option_errors():
            refuse_auto(priors, "--chunk-rows" if scheduler is None else "--scheduler")
    if scheduler is not None:
        _predict_on_dask(clf, data, out, scheduler, dask_workers, first_n, _catalogue(None, galaxies, no_galaxies),
                         no_galaxies or galaxies is not None, band is None and on_invalid == OnInvalid.RAISE
                         and split == "all" and chunk_rows is None)
        return
    if chunk_rows is not None and (band is not None or on_invalid == OnInvalid.DROP):
        raise typer.BadParameter("--band and --on-invalid drop need the whole table; drop --chunk-rows",
                                 param_hint="--chunk-rows")
    if chunk_rows is not None:
        from lcrnn.data.io import read_table
        from lcrnn.workflows.predict_stream import predict_parquet

        if split != "all":
            raise typer.BadParameter("--split needs the whole table; drop it with --chunk-rows",
                                     param_hint="--split")
        galaxy_files = [data / f"galaxies.{ext}" for ext in ("parquet", "csv") if (data / f"galaxies.{ext}").exists()]
        found = read_table(galaxy_files[0], kind="galaxies") if galaxy_files else None
        n = predict_parquet(clf, data / "photometry.parquet", data / "objects.parquet", out,
                            _catalogue(found, galaxies, no_galaxies), chunk_rows=chunk_rows, first_n=first_n)
        typer.echo(f"wrote {n} predictions to {out} (streamed, {chunk_rows} photometry rows per chunk)"
                   + (f"; {clf.catalogue_note}" if clf.catalogue_note else ""))
        return
    survey = read_survey_checked(data, on_invalid, band)
    frame = clf.predict(survey.photometry, survey.objects, _catalogue(survey.galaxies, galaxies, no_galaxies),
                        first_n=first_n)
    if split != "all":  # auto priors, if asked, were estimated on every object before this choice
        frame = frame[clf.split_.part_of(frame["object_id"].to_numpy()) == split].reset_index(drop=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    message = f"wrote {len(frame)} predictions to {out}" + _score_against_labels(clf, frame, survey.objects)
    typer.echo(message + f" ({clf.output_} probabilities)" + (f"; {clf.catalogue_note}" if clf.catalogue_note else ""))


def _score_against_labels(clf: Any, frame: Any, objects: Any) -> str:
    """``; Hand & Till AUC against the labels: ...`` when the survey carries labels, else nothing."""
    import numpy as np

    from lcrnn.evaluate.metrics import hand_till_auc

    if "label" not in objects.columns or not len(frame):
        return ""
    truth = objects.set_index("object_id").loc[frame["object_id"], "label"].astype(str).to_numpy()
    known = np.isin(truth, clf.classes_)
    position = {c: i for i, c in enumerate(clf.classes_)}
    codes = np.array([position[t] for t in truth[known]], dtype=np.int64)
    proba = frame.loc[known, [f"p_{c}" for c in clf.classes_]].to_numpy()
    return f"; Hand & Till AUC against the labels: {hand_till_auc(codes, proba):.4f}"


def _predict_on_dask(clf: Any, data: Path, out: Path, scheduler: str, workers: int, first_n: int | None,
                     catalogue: Any, catalogue_given: bool, plain: bool) -> None:
    """``lcrnn predict --scheduler``: a partitioned catalogue classified on Dask (lcrnn.workflows.predict_dask)."""
    from lcrnn.data.io import read_table
    from lcrnn.workflows.predict_dask import photometry_partitions, predict_dask

    if not plain:
        raise typer.BadParameter("--band, --on-invalid drop, --split and --chunk-rows need the whole table; "
                                 "drop them with --scheduler", param_hint="--scheduler")
    if workers < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--dask-workers")
    if not catalogue_given:  # the catalogue's own galaxies table, as for the whole-table route
        found = [data / f"galaxies.{ext}" for ext in ("parquet", "csv") if (data / f"galaxies.{ext}").exists()]
        catalogue = read_table(found[0], kind="galaxies") if found else None
    parts = photometry_partitions(data)
    n = predict_dask(clf, data, out, catalogue, scheduler=scheduler, workers=workers, first_n=first_n, progress=True)
    where = f"a local cluster of {workers} workers" if scheduler == "local" else scheduler
    typer.echo(f"wrote {n} predictions to {out} ({len(parts)} partitions on {where})"
               + (f"; {clf.catalogue_note}" if clf.catalogue_note else ""))


def _catalogue(found: Any, galaxies: Path | None, no_galaxies: bool) -> Any:
    """The galaxy table to classify with: --galaxies FILE, else the survey directory's; none with --no-galaxies."""
    from lcrnn.data.io import read_table

    if no_galaxies:
        return None
    return read_table(galaxies, kind="galaxies") if galaxies is not None else found


@app.command()
def evaluate(
    model: Annotated[list[Path], typer.Option(help="Run directory of a trained model (repeat to compare several).")],
    data: Annotated[Path, typer.Option(help="Labelled survey directory: photometry, objects, galaxies.")],
    out: Annotated[Path, typer.Option(help="Report directory: report.html, metrics.json and the figures.")],
    split: Annotated[EvaluateSplit, typer.Option(
        help="test, val (each model's own split) or all objects.")] = EvaluateSplit.TEST,
    threshold: Annotated[list[float], typer.Option(help="Probability cut for the TPR/FPR table (repeatable).")]
    = [0.7],  # noqa: B006 - typer reads the default list, never mutates it
    tsne_samples: Annotated[int, typer.Option(help="Most objects in the t-SNE maps (rare classes kept).")] = 2000,
    max_obs: Annotated[int, typer.Option(help="AUC against the first 1..MAX_OBS observations (paper: 30).")] = 30,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    band: Annotated[str | None, typer.Option(help=BAND_HELP)] = None,
    on_invalid: Annotated[OnInvalid, typer.Option(help=ON_INVALID_HELP)] = OnInvalid.RAISE,
    no_galaxies: NoGalaxies = False,
    describe: Annotated[Path | None, typer.Option(
        help="Folder of `lcrnn describe`'s figures (fig1-3) to link from the report.")] = None,
) -> None:
    """Evaluate trained models as in the paper (Table 2, Table 3, Figs 6-12) into an offline HTML report."""
    from lcrnn.classifier import Classifier
    from lcrnn.data.context import carries_context
    from lcrnn.evaluate.report import build_report, summary_table

    with _model_errors():
        models = [Classifier.load(path) for path in model]
    for clf in models:
        clf.allow_missing_catalogue = no_galaxies
    survey = read_survey_checked(data, on_invalid, band)
    results = build_report(models, survey.photometry, survey.objects, survey.galaxies, out, split=split.value,
                           thresholds=threshold, tsne_samples=tsne_samples, n_obs_values=range(1, max_obs + 1),
                           progress=progress, data=data, describe=describe)
    typer.echo(summary_table(results).to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))
    typer.echo(f"report written to {out / 'report.html'} (numbers in {out / 'metrics.json'})")
    if no_galaxies and survey.galaxies is None and not carries_context(survey.objects):
        typer.echo("--no-galaxies: context models read the dummy galaxy distance for every object")


@app.command()
def reproduce(
    out: Annotated[Path, typer.Option(help="Directory for the data, runs, figures and report.")] = Path("runs/quick"),
    profile: Annotated[Profile, typer.Option(
        help="quick (one GRU focal model, ~15 min on 2 cores) or paper (full grid).")] = Profile.QUICK,
    data: Annotated[Path | None, typer.Option(help="Use this survey directory instead of simulating one.")] = None,
    n_objects: Annotated[int | None, typer.Option(help="Simulate this many objects instead of the paper's 99,201.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the simulation, split and training.")] = 0,
    workers: Annotated[int, typer.Option(help="Grid workers on this machine (paper profile).")] = 1,
    storage: Annotated[str | None, typer.Option(help="Optuna storage URL shared by grid workers (paper profile).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Override the profile's epochs per model.")] = None,
) -> None:
    """The main job: simulate the survey, describe it, train, classify the test split and write the report."""
    from lcrnn.workflows.reproduce import reproduce as run_reproduce

    run_reproduce(out=out, profile=profile.value, data=data, n_objects=n_objects, seed=seed, workers=workers,
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
        shared = TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, device=check_device(device))
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
