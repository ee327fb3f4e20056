"""Readers of real public survey data into lcrnn's three tables.

- :func:`read_mantra`: CRTS light curves of MANTRA transients (VS / SN / AGN), :func:`mantra_catalog`;
- :func:`read_osc`: Open Supernova Catalog light curves (SN), :func:`osc_catalog`;
- :func:`read_gwgc`: the GWGC galaxy catalogue.

Each reader documents how its labels fold into the super-classes (through :mod:`lcrnn.data.label_map`).
A survey already in lcrnn's shape needs no reader: use :func:`lcrnn.data.io.read_survey`.
"""

from __future__ import annotations

from lcrnn.data.real.gwgc import read_gwgc
from lcrnn.data.real.mantra import CRTS_BAND, mantra_catalog, read_mantra
from lcrnn.data.real.osc import L_LIKE_BANDS, osc_catalog, read_osc

__all__ = ["CRTS_BAND", "L_LIKE_BANDS", "mantra_catalog", "osc_catalog", "read_gwgc", "read_mantra", "read_osc"]
