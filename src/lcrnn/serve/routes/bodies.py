"""Request and response bodies: the shape of the JSON, for parsing and for the OpenAPI schema.

They declare types, required fields and the lengths the database columns hold, strictly: numbers must be JSON
numbers and finite (``true``, ``"1.5"``, ``NaN``, ``Infinity`` and ``1e400`` are refused), text holds no NUL
or control character, and an object id is usable as one URL path segment. The rules on values (plausible
times, magnitudes and errors, positions on the sky) are the data layer's, applied by the service
(:mod:`lcrnn.data.tables`), so that the service accepts exactly what the batch ``Classifier`` accepts.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

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

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]  # a finite JSON number, not a bool
_BAND = rf"^[^\x00-\x1f\x7f]*[^{_BLANK}][^\x00-\x1f\x7f]*$"  # printable, not blank

# The data layer's ranges, shown in the schema (JSON Schema keywords); the data layer enforces them, with its
# messages, and the mjd range as the server is configured.
_RA = {"minimum": 0.0, "exclusiveMaximum": 360.0}
_DEC = {"minimum": -90.0, "maximum": 90.0}
_MJD = {"minimum": MJD_MIN, "maximum": MJD_MAX}
# Magnitudes are float32 in the data layer: a hair inside its limits, so that no accepted value rounds onto
# one (49.9999999 becomes 50.0, 1e-50 becomes 0.0).
_MAG_LIMIT = MAX_ABS_MAG - 1e-5
_MAG_ERR_LIMITS = {"ge": 1e-44, "lt": MAX_MAG_ERR - 1e-5}


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
    object_id: str = Field(min_length=1, max_length=128, pattern=OBJECT_ID_PATTERN)
    mjd: Number = Field(
        description=f"Time of the observation [MJD]; by default within [{MJD_MIN:g}, {MJD_MAX:g}] "
        "(a Julian Date or a relative time is refused with a hint).",
        json_schema_extra=_MJD,
    )
    mag: Number = Field(description="Magnitude, |mag| < 50.", gt=-_MAG_LIMIT, lt=_MAG_LIMIT)
    mag_err: Number = Field(description="Magnitude error, in (0, 10).", **_MAG_ERR_LIMITS)
    band: str = Field(default=DEFAULT_BAND, min_length=1, max_length=16, pattern=_BAND)
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
