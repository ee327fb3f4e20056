"""The `lcrnn` command: one entry point, one sub-command per job.

Each sub-command is a thin shell over a library function, so everything here is also reachable from Python.
Heavy imports (torch, astropy, matplotlib) happen inside the commands to keep `lcrnn --help` fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    help="Classify astronomical light curves in real time with recurrent neural networks.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print the installed lcrnn version."""
    from lcrnn import __version__

    typer.echo(__version__)


# --- sub-commands are added below, one block per job -------------------------------------------------


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Survey directory: photometry, objects (with label), galaxies.")],
    out: Annotated[Path, typer.Option(help="Run directory to write (model, config, history, metrics, figure).")],
    rnn: Annotated[str, typer.Option(help="Recurrent cell: gru or lstm.")] = "gru",
    loss: Annotated[str, typer.Option(help="ce (unweighted), wce (weighted CE) or focal (weighted focal).")] = "focal",
    gamma: Annotated[float, typer.Option(help="Focal-loss gamma.")] = 2.0,
    hidden: Annotated[int, typer.Option(help="RNN output size (paper: 100 or 150).")] = 150,
    dense: Annotated[int, typer.Option(help="Neurons in each dense layer (paper: 100 or 200).")] = 200,
    epochs: Annotated[int, typer.Option(help="Training epochs (paper: 200).")] = 200,
    lr: Annotated[float, typer.Option(help="Adam learning rate (paper: 1e-4).")] = 1e-4,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size (paper: 128).")] = 128,
    no_context: Annotated[bool, typer.Option("--no-context", help="Light curve only (paper section 5.4).")] = False,
    stratified_batches: Annotated[bool, typer.Option(help="Class-stratified mini-batches.")] = False,
    early_stopping: Annotated[Optional[int], typer.Option(help="Stop after N epochs without a better val AUC.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the split, weights and batch order.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore an interrupted run's checkpoint.")] = False,
) -> None:
    """Train a classifier; an interrupted run resumes from OUT/checkpoint when rerun."""
    from lcrnn.classifier import Classifier
    from lcrnn.data.io import read_survey
    from lcrnn.train.run import train_run

    survey = read_survey(data)
    clf = Classifier(rnn=rnn, loss=loss, gamma=gamma, hidden=hidden, dense=dense, epochs=epochs, lr=lr,
                     batch_size=batch_size, use_context=not no_context, stratified_batches=stratified_batches,
                     early_stopping=early_stopping, seed=seed, device=device)
    metrics = train_run(clf, survey, out, resume=not fresh)
    val, test = metrics["validation"], metrics["test"]
    typer.echo(f"{out}: best epoch {metrics['best_epoch']}, validation AUC {val['auc_hand_till']:.4f} "
               f"(F1 {val['f1_macro']:.3f}), test AUC {test['auc_hand_till']:.4f} (F1 {test['f1_macro']:.3f})")


@app.command()
def predict(
    model: Annotated[Path, typer.Option(help="Run directory written by `lcrnn train`.")],
    data: Annotated[Path, typer.Option(help="Survey directory with photometry and objects (galaxies optional).")],
    out: Annotated[Path, typer.Option(help="CSV to write: object_id, p_<class>..., predicted.")],
    first_n: Annotated[Optional[int], typer.Option(help="Use only each light curve's first N observations.")] = None,
    split: Annotated[str, typer.Option(help="all, or only the objects of the model's train/val/test split.")] = "all",
) -> None:
    """Classify every object of a survey directory with a trained model."""
    import numpy as np

    from lcrnn.classifier import Classifier
    from lcrnn.data.io import read_survey

    clf = Classifier.load(model)
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
        from lcrnn.train.loop import hand_till_auc

        truth = survey.objects.set_index("object_id").loc[frame["object_id"], "label"].astype(str).to_numpy()
        known = np.isin(truth, clf.classes_)
        position = {c: i for i, c in enumerate(clf.classes_)}
        codes = np.array([position[t] for t in truth[known]], dtype=np.int64)
        proba = frame.loc[known, [f"p_{c}" for c in clf.classes_]].to_numpy()
        auc = hand_till_auc(codes, proba, len(clf.classes_))
        message += f"; Hand & Till AUC against the labels: {auc:.4f}"
    typer.echo(message)


@app.command()
def reproduce(
    out: Annotated[Path, typer.Option(help="Directory for the data, runs, figures and report.")] = Path("runs/quick"),
    profile: Annotated[str, typer.Option(help="quick (one GRU focal model, ~15 min on 2 cores) or paper (full grid).")] = "quick",
    data: Annotated[Optional[Path], typer.Option(help="Use this survey directory instead of simulating one.")] = None,
    n_objects: Annotated[Optional[int], typer.Option(help="Simulate this many objects instead of the paper's 99,201.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the simulation, split and training.")] = 0,
    workers: Annotated[int, typer.Option(help="Grid workers on this machine (paper profile).")] = 1,
    storage: Annotated[Optional[str], typer.Option(help="Optuna storage URL shared by grid workers (paper profile).")] = None,
) -> None:
    """The main job: simulate the survey, describe it, train, classify the test split and write the report."""
    from lcrnn.reproduce import reproduce as run_reproduce

    run_reproduce(out=out, profile=profile, data=data, n_objects=n_objects, seed=seed, workers=workers,
                  storage=storage, echo=typer.echo)


if __name__ == "__main__":  # pragma: no cover
    app()
