"""`lcrnn audit`: what a classifier can lean on in a labelled survey (issue 14, item 1)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from lcrnn.cli._common import BAND_HELP, ON_INVALID_HELP, NoGalaxies, OnInvalid, app, read_survey_checked


class ReportedError(str, Enum):
    """The error column of a resampled real point (lcrnn.data.resample.ResampleConfig.reported_error)."""

    LARGER = "larger"
    SURVEY = "survey"


def _catalogue(survey: Any, data: Path, galaxies: Path | None, no_galaxies: bool) -> Any:
    """The galaxy table of the context: --galaxies FILE, else DATA's; none with --no-galaxies (said)."""
    from lcrnn.data.context import carries_context
    from lcrnn.data.tables import validate_galaxies

    if no_galaxies and galaxies is not None:
        raise typer.BadParameter("give either --galaxies FILE or --no-galaxies, not both",
                                 param_hint="--no-galaxies")
    if carries_context(survey.objects):  # the objects carry their context: no catalogue is read
        if galaxies is not None or no_galaxies:
            typer.echo("the objects carry their context (gal_l, gal_b, galaxy_dist_arcsec): no catalogue is used",
                       err=True)
        return None
    if no_galaxies:
        typer.echo("--no-galaxies: every object gets the dummy galaxy distance, so d_G carries nothing",
                   err=True)
        return None
    if galaxies is not None:
        from lcrnn.data.io import read_table

        return validate_galaxies(read_table(galaxies, kind="galaxies"))[0]
    if survey.galaxies is None:
        raise typer.BadParameter(
            f"{data} has no galaxies table, so the context (the distance to the nearest galaxy) cannot be "
            "computed; pass --galaxies FILE, or --no-galaxies to audit with the dummy distance for every "
            "object",
            param_hint="--galaxies")
    return survey.galaxies


def _read_real(paths: list[Path], on_invalid: OnInvalid, band: str | None, classes: tuple[str, ...]) -> Any:
    """The real labelled light curves of every --real directory, as one survey."""
    import pandas as pd

    from lcrnn.data.tables import Survey

    surveys = [read_survey_checked(path, on_invalid, band) for path in paths]
    for path, survey in zip(paths, surveys, strict=True):
        if not survey.has_labels:
            raise typer.BadParameter(f"{path} has no labels; the comparison is made per class",
                                     param_hint="--real")
    objects = pd.concat([s.objects[["object_id", "ra", "dec", "label"]] for s in surveys], ignore_index=True)
    repeated = objects["object_id"].astype(str)[objects["object_id"].astype(str).duplicated()]
    if len(repeated):
        raise typer.BadParameter(f"the --real directories share object ids ({', '.join(repeated.iloc[:5])}); "
                                 "each light curve must have its own id", param_hint="--real")
    shared = set(objects["label"].dropna().astype(str)) & set(classes)
    if not shared:
        raise typer.BadParameter(f"the real light curves have none of the survey's classes {list(classes)}",
                                 param_hint="--real")
    return Survey(pd.concat([s.photometry for s in surveys], ignore_index=True), objects, None)


def _echo_result(result: Any) -> None:
    from lcrnn.evaluate.audit_page import SET_TITLES

    for name, score in result.scores.items():
        typer.echo(f"  {SET_TITLES.get(name, name):<22} AUC {score.auc:.3f} ± {score.auc_std:.3f}")
    for cls, score in (result.adversarial or {}).items():
        top = ", ".join(f for f, _ in score.top_features[:3])
        typer.echo(f"  {cls} survey vs real: AUC {score.auc:.3f} ({score.n_sim} / {score.n_real}); "
                   f"most telling: {top}")
    for note in result.notes + result.adversarial_notes:
        typer.echo(f"  note: {note}")


@app.command()
def audit(
    data: Annotated[Path, typer.Option(
        help="Labelled survey directory (as lcrnn simulate or lcrnn import write).")],
    out: Annotated[Path, typer.Option(help="Directory for audit.json, audit.png and audit.html.")],
    real: Annotated[list[Path] | None, typer.Option(
        help="Survey directory of real labelled light curves (repeatable), e.g. from lcrnn import: adds the "
             "per-class adversarial validation of DATA's light curves against them.")] = None,
    galaxies: Annotated[Path | None, typer.Option(
        help="Galaxy catalogue (Parquet/CSV with ra, dec) instead of DATA's galaxies table.")] = None,
    no_galaxies: NoGalaxies = False,
    folds: Annotated[int, typer.Option(help="Stratified cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(
        help="Seed of the folds, the subsample, the trees and the resampling.")] = 0,
    max_objects: Annotated[int | None, typer.Option(
        help="Audit at most this many objects: rare classes whole, the common ones capped (default: all).")]
    = None,
    rnn_auc: Annotated[float | None, typer.Option(
        help="A model's test AUC to show beside the trees' (e.g. from lcrnn evaluate).")] = None,
    real_resampled: Annotated[bool, typer.Option(
        "--real-resampled",
        help="The --real light curves are already survey-like (lcrnn import --resample).")]
    = False,
    difference_sigma: Annotated[float | None, typer.Option(
        help="When resampling --real: keep only points this many sigma off the quiescent level (GOTO: 5).")]
    = None,
    reported_error: Annotated[ReportedError, typer.Option(
        help="When resampling --real: the error a point reports, the larger of GOTO's and the source's, or "
             "GOTO's own at that magnitude (survey).")] = ReportedError.LARGER,
    band: Annotated[str | None, typer.Option(help=BAND_HELP)] = None,
    on_invalid: Annotated[OnInvalid, typer.Option(help=ON_INVALID_HELP)] = OnInvalid.RAISE,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """What trees classify a survey by: context, sampling, light-curve shape (and likeness to real curves)."""
    import dataclasses

    from lcrnn.evaluate.adversarial import REAL_RESAMPLE
    from lcrnn.evaluate.audit import audit_survey
    from lcrnn.evaluate.audit_page import gain_sentence, write_audit

    if folds < 2:
        raise typer.BadParameter("must be at least 2", param_hint="--folds")
    if max_objects is not None and max_objects < 2 * folds:
        raise typer.BadParameter(f"must be at least 2 x --folds ({2 * folds})", param_hint="--max-objects")
    if rnn_auc is not None and not 0.0 <= rnn_auc <= 1.0:
        raise typer.BadParameter("an AUC lies between 0 and 1", param_hint="--rnn-auc")
    if difference_sigma is not None and not difference_sigma > 0:
        raise typer.BadParameter("must be positive", param_hint="--difference-sigma")
    survey = read_survey_checked(data, on_invalid, band)
    if not survey.has_labels:
        raise typer.BadParameter(f"{data} has no labels; the audit scores classifiers against them",
                                 param_hint="--data")
    survey = dataclasses.replace(survey, galaxies=_catalogue(survey, data, galaxies, no_galaxies))
    classes = tuple(str(c) for c in survey.class_counts().index)
    real_survey = _read_real(real, on_invalid, band, classes) if real else None
    resample = (None if real_resampled
                else dataclasses.replace(REAL_RESAMPLE, difference_sigma=difference_sigma,
                                         reported_error=reported_error.value))
    result = audit_survey(survey, real=real_survey, folds=folds, seed=seed, max_objects=max_objects,
                          resample=resample, progress=progress)
    paths = write_audit(result, out, rnn_auc=rnn_auc, rnn_name="the model")
    _echo_result(result)
    typer.echo(gain_sentence(result, rnn_auc, "the model"))
    typer.echo(f"audit written to {paths['html']} (numbers in {paths['json']}, chart in {paths['png']})")
