"""The registry of source populations: one light-curve generator per subtype, with its parameters named.

A population is registered with the decorator :func:`population`, which records the generator, the frozen
dataclass of parameters it is called with and the class (``"VS"``, ``"SN"``, ``"AGN"``) it belongs to. The
same generator may be registered under several names with different parameters (RR Lyrae and Cepheids share
a sawtooth, Seyfert nuclei, quasars and blazars a damped random walk)::

    @population("VS", "RRab", Sawtooth(period_days=(0.45, 0.9), amplitude_mag=(0.5, 1.3), rise_share=0.15))
    @population("VS", "CEP", Sawtooth(period_days=(1.0, 100.0), amplitude_mag=(0.1, 1.5), rise_share=0.3))
    def sawtooth_pulsator(v: Visits, p: Sawtooth) -> np.ndarray: ...

Each class's simulator (:mod:`.variables`, :mod:`.supernovae`, :mod:`.agn`) looks its subtypes up here in the
order of its mix, so the draws from the one random generator happen in a fixed order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from lcrnn.errors import InvalidConfigError

__all__ = ["Population", "get_population", "population", "population_names"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Population:
    """One registered source population.

    Parameters
    ----------
    label
        The class it belongs to: ``"VS"``, ``"SN"`` or ``"AGN"``.
    name
        Its subtype name, as used in the mixes (``"RRab"``, ``"Ia"``, ``"blazar"``).
    generate
        The function that draws its light curves (its signature is the class simulator's to define).
    params
        Its parameters: a frozen dataclass whose fields cite where each number comes from.
    quiescent_offset_mag
        Added to the class's base magnitude: variables seen by brightening (dwarf novae, flare stars) sit
        fainter in quiescence than the catalogue's mean magnitude.
    """

    label: str
    name: str
    generate: Callable[..., Any]
    params: Any
    quiescent_offset_mag: float = 0.0


_REGISTRY: dict[str, dict[str, Population]] = {}


def population(label: str, name: str, params: Any, *, quiescent_offset_mag: float = 0.0) -> Callable[[F], F]:
    """Register the decorated function as the light-curve generator of subtype ``name`` of class ``label``.

    The function is returned unchanged, so the decorator may be stacked to register it under several names.
    """

    def register(generate: F) -> F:
        known = _REGISTRY.setdefault(label, {})
        if name in known:
            raise ValueError(f"a {label} population {name!r} is registered already ({known[name].generate}).")
        known[name] = Population(label, name, generate, params, quiescent_offset_mag)
        return generate

    return register


def get_population(label: str, name: str) -> Population:
    """The population registered as subtype ``name`` of class ``label``.

    Raises
    ------
    lcrnn.errors.InvalidConfigError
        If none is, naming the subtypes that are.
    """
    known = _REGISTRY.get(label, {})
    if name not in known:
        raise InvalidConfigError(
            f"no {label} population {name!r} is registered; the simulator knows "
            f"{', '.join(sorted(known)) or 'none'} (classes: {', '.join(sorted(_REGISTRY))})."
        )
    return known[name]


def population_names(label: str) -> tuple[str, ...]:
    """Names of the subtypes registered for class ``label``, in the order they were registered."""
    return tuple(_REGISTRY.get(label, {}))
