"""Labels by cross-match: catalogue object types folded into lcrnn's super-classes (paper section 2.2).

The paper labelled GOTO objects by matching their positions to catalogues of known sources (the AAVSO
variable star index, the Veron quasar catalogue, the Transient Name Server) and folding the hundreds of
catalogue types into three super-classes, VS, SN and AGN. The two jobs live in two modules, both reachable
from here:

- :mod:`lcrnn.data.label_map`: the folding, an editable mapping file (``label_maps/default.json``) read by
  :func:`load_label_map` into a :class:`LabelMap`;
- :mod:`lcrnn.data.crossmatch`: :func:`read_catalog` reads a catalogue, :func:`cross_match_labels` matches
  objects to any number of them with astropy and reports objects whose catalogues disagree instead of
  guessing their class.
"""

from __future__ import annotations

from lcrnn.data.crossmatch import (
    CATALOG_ALIASES,
    Catalog,
    CrossMatchResult,
    cross_match_labels,
    read_catalog,
    read_table_file,
)
from lcrnn.data.label_map import LabelMap, TypeMatch, load_label_map

__all__ = [
    "CATALOG_ALIASES",
    "Catalog",
    "CrossMatchResult",
    "LabelMap",
    "TypeMatch",
    "cross_match_labels",
    "load_label_map",
    "read_catalog",
    "read_table_file",
]
