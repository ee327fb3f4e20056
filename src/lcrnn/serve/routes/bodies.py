"""Request and response bodies: the shape of the JSON, for parsing and for the OpenAPI schema.

They declare types, required fields and the lengths the database columns hold, strictly: numbers must be JSON
numbers (``true`` and ``"1.5"`` are refused) and a new object's id is usable as one URL path segment. The rules
on values (finite, plausible times, magnitudes and errors, positions on the sky, text without NUL or control
characters) are the data layer's, applied by the service (:mod:`lcrnn.data.tables`) in its words, so that the
service accepts exactly what the batch ``Classifier`` accepts; the schema shows them (``json_schema_extra``).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, field_validator

from lcrnn.data.checks import MAX_ABS_MAG, MAX_MAG_ERR, MJD_MAX, MJD_MIN
from lcrnn.data.tables import DEFAULT_BAND

__all__ = ["OBJECT_ID_PATTERN", "Candidate", "Error", "HistoryEntry", "ObjectDetail", "ObjectIn",
           "ObjectSummary", "ObservationIn", "ObservationsResult", "Registered", "Retracted", "is_object_id"]

# One URL path segment that round-trips: no whitespace, slash or control character, and no leading dot (so
# never "." or "..", which a client's URL handling collapses). The blank characters are spelled out, since
# "\s" differs between the regex engines of pydantic, Python and JSON Schema.
_BLANK = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
OBJECT_ID_PATTERN = rf"^[^/.{_BLANK}][^/{_BLANK}]*$"
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # any text without NUL or control characters
_OBJECT_ID_RE = re.compile(OBJECT_ID_PATTERN)

Number = Annotated[float, Field(strict=True)]  # a JSON number, not a bool or text; NaN is the data layer's
_BAND = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"  # printable, not blank (str.strip)

# The data layer's ranges, shown in the schema (JSON Schema keywords); the data layer enforces them, with its
# messages, and the mjd range as the server is configured.
_RA = {"minimum": 0.0, "exclusiveMaximum": 360.0}
_DEC = {"minimum": -90.0, "maximum": 90.0}
_MJD = {"minimum": MJD_MIN, "maximum": MJD_MAX}
# Magnitudes are float32 in the data layer, which rounds 49.9999999 onto its limit of 50 and 1e-50 onto 0: the
# schema's limits lie a hair inside, and the hair itself is refused here (the data layer refuses the rest).
_MAG_LIMIT = MAX_ABS_MAG - 1e-5
_ERR_LOW, _ERR_HIGH = 1e-44, MAX_MAG_ERR - 1e-5
_MAG = {"exclusiveMinimum": -_MAG_LIMIT, "exclusiveMaximum": _MAG_LIMIT}
_MAG_ERR = {"minimum": _ERR_LOW, "exclusiveMaximum": _ERR_HIGH}


def _mag_off_edge(value: float) -> float:
    if math.isfinite(value) and _MAG_LIMIT <= abs(value) < MAX_ABS_MAG:
        raise ValueError(f"|mag| must be below {_MAG_LIMIT} (as float32 it would round onto {MAX_ABS_MAG:g})")
    return value


def _err_off_edge(value: float) -> float:
    if 0 < value < _ERR_LOW or _ERR_HIGH <= value < MAX_MAG_ERR:
        raise ValueError(f"mag_err must be in [{_ERR_LOW:g}, {_ERR_HIGH}) (float32 rounds it onto a limit)")
    return value


def is_object_id(text: str) -> bool:
    """Whether ``text`` could have been registered as an object id (GET of anything else is a 404)."""
    return len(text) <= 128 and _OBJECT_ID_RE.match(text) is not None


class ObjectIn(BaseModel):
    """A new object: id and ICRS position in degrees."""

    model_config = ConfigDict(extra="forbid")
    object_id: str = Field(
        min_length=1, max_length=128, pattern=OBJECT_ID_PATTERN,
        description="Usable as /objects/{object_id}: no whitespace, '/', control character or leading '.'.",
    )
    ra: Number = Field(description="Right ascension [deg], in [0, 360).", json_schema_extra=_RA)
    dec: Number = Field(description="Declination [deg], in [-90, 90].", json_schema_extra=_DEC)


class ObservationIn(BaseModel):
    """One detection. ``alert_id`` (e.g. a ZTF candid) makes re-sent alerts recognisable."""

    model_config = ConfigDict(extra="forbid")
    object_id: str = Field(max_length=128, json_schema_extra={"pattern": OBJECT_ID_PATTERN})  # else 404
    mjd: Number = Field(
        description=f"Time of the observation [MJD]; by default within [{MJD_MIN:g}, {MJD_MAX:g}] "
        "(a Julian Date or a relative time is refused with a hint).",
        json_schema_extra=_MJD,
    )
    mag: Annotated[Number, AfterValidator(_mag_off_edge)] = Field(
        description="Magnitude, |mag| < 50.", json_schema_extra=_MAG
    )
    mag_err: Annotated[Number, AfterValidator(_err_off_edge)] = Field(
        description="Magnitude error, in (0, 10).", json_schema_extra=_MAG_ERR
    )
    band: str = Field(default=DEFAULT_BAND, max_length=16, json_schema_extra={"pattern": _BAND})
    alert_id: Annotated[str, Field(max_length=64, pattern=_PRINTABLE)] | StrictInt | None = Field(
        default=None, description="Text, or an integer such as a ZTF candid (stored as text)."
    )

    @field_validator("alert_id", mode="after")
    @classmethod
    def _alert_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class Error(BaseModel):
    """Every error answer: a message, or FastAPI's list of ``{loc, msg, type}`` for the fields refused."""

    detail: str | list[dict[str, Any]]


class Registered(BaseModel):
    object_id: str
    created: bool
    context: dict[str, float | None] | None


class Retracted(BaseModel):
    """What a retraction did: detections taken back, and the object's state rebuilt from the rest."""

    object_id: str
    retracted: int
    n_obs: int
    probabilities: dict[str, float]


class ObservationsResult(BaseModel):
    accepted: int
    duplicates: int
    rebuilt: int
    objects: dict[str, dict[str, Any]]


class ObjectSummary(BaseModel):
    object_id: str
    ra: float
    dec: float
    context: dict[str, float | None]
    n_obs: int
    first_mjd: float | None
    last_mjd: float | None
    probabilities: dict[str, float]
    leading_class: str | None
    leading_prob: float | None
    updated_at: float


class HistoryEntry(BaseModel):
    step: int
    mjd: float
    probabilities: dict[str, float]


class ObjectDetail(ObjectSummary):
    history: list[HistoryEntry]
    observations: list[dict[str, Any]]
    upper_limits: list[dict[str, Any]]
    retracted: list[dict[str, Any]] = Field(default_factory=list, description="Detections taken back.")


class Candidate(ObjectSummary):
    prob: float
