"""``lcrnn models``: the models shipped inside the package, usable by name with no training."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from lcrnn.cli._common import app


def _describe(card: dict[str, Any]) -> list[str]:
    """A shipped model's card as a few readable lines."""
    recipe, metrics = card.get("recipe", {}), card.get("metrics", {})
    lines = [f"{card['name']}  ({card['size_bytes'] / 1e6:.1f} MB, lcrnn {card.get('lcrnn_version', '?')}, "
             f"made {card.get('created', '?')})"]
    if "summary" in card:
        lines.append(f"  {card['summary']}")
    if "training_data" in card:
        lines.append(f"  trained on: {card['training_data'].get('description', card['training_data'])}")
    if recipe:
        lines.append(f"  recipe:     {recipe.get('description', recipe)}")
    if metrics:
        shown = ", ".join(f"{label} {metrics[key]:.3f}" for key, label in
                          (("auc", "AUC (Hand & Till)"), ("macro_f1", "macro F1"), ("ece", "ECE"))
                          if isinstance(metrics.get(key), (int, float)))
        lines.append(f"  measured:   {shown} on {metrics.get('on', 'its test split')}")
    real = card.get("real_data", {})
    if isinstance(real.get("auc"), (int, float)):
        lines.append(f"  real data:  AUC (Hand & Till) {real['auc']:.3f} ± {real.get('auc_std', float('nan')):.3f}, "
                     f"macro F1 {real.get('macro_f1', float('nan')):.3f} on {real.get('on', 'real light curves')}")
    if "command" in card:
        lines.append(f"  remake:     {card['command']}")
    lines.append(f"  use:        lcrnn predict --model {card['name']} --data DIR --out OUT.csv   |   "
                 f"Classifier.load({card['name']!r})   |   lcrnn train --init {card['name']} ...")
    return lines


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print the cards as JSON instead of text.")] = False,
) -> None:
    """List the models shipped with lcrnn: training data, recipe, size and measured metrics."""
    from lcrnn.train.pretrained import model_card, shipped_models

    cards = [model_card(name) for name in shipped_models()]
    if as_json:
        typer.echo(json.dumps(cards, indent=2))
        return
    if not cards:
        typer.echo("no shipped models are installed")
        return
    for index, card in enumerate(cards):
        if index:
            typer.echo("")
        for line in _describe(card):
            typer.echo(line)
