"""What the simulated sky holds: the paper's three classes and the share of each subtype within them.

The class counts are the paper's (Burhanudin et al. 2021, section 2.2). The subtype mixes are shares among
the *candidates*, before the detection cut: a subtype that varies more is detected more often, so the mix of
labelled objects leans further toward it. Each subtype named here is a registered population
(:mod:`.registry`); the tests check that every mix names only registered ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "AGN_MIX",
    "CLASSES",
    "PAPER_CLASS_COUNTS",
    "SN_MIX",
    "SOURCE_POPULATIONS",
    "TRANSIENT_SELECTED_AGN_MIX",
    "TRANSIENT_SELECTED_VS_MIX",
    "VS_MIX",
]

#: The paper's three super-classes.
CLASSES: tuple[str, ...] = ("VS", "SN", "AGN")
#: Labelled objects per class in the paper's data set (section 2.2).
PAPER_CLASS_COUNTS: Mapping[str, int] = MappingProxyType({"VS": 98_457, "SN": 201, "AGN": 543})
PAPER_TOTAL = sum(PAPER_CLASS_COUNTS.values())  # 99,201

# Mix of VS subtypes among catalogued variables (AAVSO VSX-like): name -> fraction.
VS_MIX: Mapping[str, float] = MappingProxyType(
    {
        "EW": 0.28,  # W UMa contact binaries
        "EA": 0.12,  # detached (Algol-type) binaries
        "RRab": 0.10,
        "RRc": 0.05,
        "DSCT": 0.05,  # delta Scuti
        "CEP": 0.03,  # classical Cepheids
        "M": 0.06,  # Miras
        "SR": 0.14,  # semi-regular variables
        "UG": 0.04,  # dwarf novae
        "UV": 0.02,  # flare stars (UV Ceti-type M dwarfs)
        "IRR": 0.11,  # irregular / young-star red noise
    }
)
# AGN subtypes among Veron-catalogue candidates (13th ed.: ~20 % active galaxies, ~80 % quasars, ~1 % BL Lac),
# before the detection cut. Bright, nearby Seyfert nuclei dominate what a 20.5-mag survey sees varying, which
# is why most of the paper's AGN have a GLADE galaxy within 60" (its Fig. 3).
AGN_MIX: Mapping[str, float] = MappingProxyType({"Seyfert": 0.80, "QSO": 0.19, "blazar": 0.01})
# SN types by their volumetric rates (Li et al. 2011, LOSS, MNRAS 412, 1473: Ia 24 %; of core collapse
# II-P 48 %, Ic + Ib + IIb ~34 %, IIn 9 %, II-L 6 %). The survey sees each type in the volume its peak can be
# seen in, so the detected mix leans to the bright Ia (~70 % in magnitude-limited samples). Not configurable.
SN_MIX: Mapping[str, float] = MappingProxyType(
    {"Ia": 0.24, "II-P": 0.37, "Ibc": 0.26, "II-L": 0.05, "IIn": 0.08}
)

#: A VS mix for surveys whose labelled variables are found by brightening (as CRTS's transients in MANTRA,
#: Drake et al. 2009: CV 130, flare 59, other variables 19 of 208): dwarf novae and flare stars first.
TRANSIENT_SELECTED_VS_MIX: Mapping[str, float] = MappingProxyType(
    {"UG": 0.60, "UV": 0.28, "M": 0.03, "SR": 0.03, "IRR": 0.03, "RRab": 0.02, "EA": 0.01}
)

#: An AGN mix for the same kind of survey: MANTRA's AGN are half blazars (59 of 116) and all flaring; blazars
#: are ~7 times likelier than other AGN to pass the detection cut, so 13 % of the candidates give about half.
TRANSIENT_SELECTED_AGN_MIX: Mapping[str, float] = MappingProxyType(
    {"Seyfert": 0.20, "QSO": 0.67, "blazar": 0.13}
)

#: Named subtype mixes: ``survey`` (the defaults, a VSX/Veron-like catalogue) and ``transient`` (labels found
#: by brightening). Pass one as ``SimulationConfig(**SOURCE_POPULATIONS[name])``.
SOURCE_POPULATIONS: Mapping[str, Mapping[str, Mapping[str, float]]] = MappingProxyType(
    {
        "survey": MappingProxyType({"vs_mix": VS_MIX, "agn_mix": AGN_MIX}),
        "transient": MappingProxyType(
            {"vs_mix": TRANSIENT_SELECTED_VS_MIX, "agn_mix": TRANSIENT_SELECTED_AGN_MIX}
        ),
    }
)
