"""vitalera's records, synthesised in the shapes of its FHIR-resource pages
(docs-v2.vitalera.io/fhir-resources/patient, /observation, /care-plan).

- Monitored (Patient): ``id, monitored_code, email, sex, birth_date, deep_link`` (example:
  ``"ABC123"``, ``"female"``, ``"1985-04-11"``, ``"https://link.vitalera.io/register/ABC123"``).
- Observation: ``id, observation_definition {observation_name, observation_method},
  category, value`` (a string), ``value_type`` ("int", "float"), ``value_unit, issued,
  effective_datetime, source_id``; names and units from the page's "Observation Types".
- Plan (CarePlan): ``id, name, status, activities, alarms``; activities as the example shows
  (``{"type": "questionnaire", "questionnaire_id", "timing"}``, ``{"type": "observation",
  "observation_name", "timing"}``).

Where the pages are silent: an alarm is ``{observation_name, min_value, max_value}``;
observations of a monitored are listed oldest first, a monitored's ids in one block
(monitored m owns ids ``m*n+1 .. m*n+n`` for n = ``rows["observations"]``). Timestamps are
ISO 8601 in UTC with a ``Z``, as the examples. Nothing here is real patient data.
"""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta

from ._synthetic import iso, pick, unit

_BASE = datetime(2024, 1, 15, 7, 0, tzinfo=UTC)
DEEP_LINK = "https://link.vitalera.io/register/{code}"
_PLAN_NAMES = (
    "Cardiac Monitoring Plan",
    "COPD Home Monitoring",
    "Hypertension Coaching",
    "Type 2 Diabetes Follow-up",
    "Post-operative Recovery",
    "Heart Failure Telemonitoring",
    "Pregnancy Blood Pressure Watch",
    "Atrial Fibrillation Follow-up",
)
# observation_name -> (value_unit, low, high, decimals), the page's "Observation Types"
OBSERVATION_TYPES = {
    "heart_rate": ("bpm", 52, 112, 0),
    "blood_pressure_systolic": ("mmHg", 98, 172, 0),
    "blood_pressure_diastolic": ("mmHg", 58, 104, 0),
    "temperature": ("celsius", 35.9, 38.6, 1),
    "oxygen_saturation": ("percentage", 89, 100, 0),
    "weight": ("kg", 48, 125, 1),
    "blood_glucose": ("mg/dL", 70, 220, 0),
    "respiratory_rate": ("breaths/min", 10, 26, 0),
}
_METHODS = ("device", "device", "device", "manual")
_CODE = string.ascii_uppercase + string.digits


def monitored_code(mid: int) -> str:
    n = (mid * 2654435761) % 36**6  # a bijection on six base-36 digits: unique codes
    return "".join(_CODE[(n // 36**k) % 36] for k in range(5, -1, -1))


def monitored(i: int) -> dict:
    mid = i + 1
    code = monitored_code(mid)
    born = date(1935, 1, 1) + timedelta(days=int(unit("birth", i) * 365.25 * 70))
    return {
        "id": mid,
        "monitored_code": code,
        "email": f"monitored{mid:05d}@patients.vitalera.sandbox.test",
        "sex": pick(("female", "male"), "sex", i),
        "birth_date": born.isoformat(),
        "deep_link": DEEP_LINK.format(code=code),
    }


def observation(mid: int, k: int, per: int) -> dict:
    """Observation k of monitored ``mid`` (1-based), with ``per`` observations each."""
    oid = (mid - 1) * per + k + 1
    name = pick(tuple(OBSERVATION_TYPES), "otype", oid)
    value_unit, low, high, decimals = OBSERVATION_TYPES[name]
    value = round(low + (high - low) * unit("ovalue", oid), decimals)
    taken = _BASE + timedelta(days=mid % 30, hours=6 * k, minutes=int(unit("omin", oid) * 50))
    return {
        "id": oid,
        "observation_definition": {
            "observation_name": name,
            "observation_method": pick(_METHODS, "omethod", oid),
        },
        "category": "physiological_data",
        "value": str(int(value)) if decimals == 0 else f"{value:.{decimals}f}",
        "value_type": "int" if decimals == 0 else "float",
        "value_unit": value_unit,
        "issued": iso(taken + timedelta(seconds=5 + int(unit("oissued", oid) * 90))),
        "effective_datetime": iso(taken),
        "source_id": 1 + int(unit("osource", mid) * 4),  # one device per monitored
    }


def plan(i: int) -> dict:
    name = _PLAN_NAMES[i % len(_PLAN_NAMES)]
    if i >= len(_PLAN_NAMES):
        name = f"{name} ({i // len(_PLAN_NAMES) + 1})"
    types = tuple(OBSERVATION_TYPES)
    first = int(unit("plan-types", i) * len(types))
    watched = [types[(first + k) % len(types)] for k in range(2)]
    activities = [{"type": "questionnaire", "questionnaire_id": 40 + i % 7, "timing": "daily"}]
    activities += [
        {"type": "observation", "observation_name": n, "timing": pick(("daily", "twice_daily"),
                                                                       "timing", i + k)}
        for k, n in enumerate(watched)
    ]  # fmt: skip
    alarms = []
    for n in watched:
        _unit, low, high, decimals = OBSERVATION_TYPES[n]
        margin = (high - low) / 6
        bounds = [round(low + margin, decimals), round(high - margin, decimals)]
        if decimals == 0:
            bounds = [int(b) for b in bounds]
        alarms.append({"observation_name": n, "min_value": bounds[0], "max_value": bounds[1]})
    return {
        "id": i + 1,
        "name": name,
        "status": "active" if unit("plan-active", i) < 0.85 else "inactive",
        "activities": activities,
        "alarms": alarms,
    }
