"""Synthetic JSON records for vitalera and vidaplus: record i is computed from i alone.

Nothing here is real patient data. Values come from a keyed hash of the record index, so a
page of a 100 000-row dataset costs what the page costs, and every run serves the same data.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from . import _accounts as acc

_BASE = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def unit(salt: str, i: int) -> float:
    """A deterministic number in [0, 1) for (salt, i), stable across Python versions."""
    digest = hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pick(options: tuple, salt: str, i: int):
    return options[int(unit(salt, i) * len(options))]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# vitalera: the organization id matches the seed's rotate_credentials example ("123").
VITALERA_ORGANIZATION = {"id": int(acc.VITALERA_ORGANIZATION_ID), "name": "Sandbox Care Network"}
_PLAN_NAMES = (
    "Heart failure telemonitoring",
    "COPD home monitoring",
    "Hypertension coaching",
    "Type 2 diabetes follow-up",
    "Post-operative recovery",
    "Cardiac rehabilitation",
    "Pregnancy blood pressure watch",
    "Atrial fibrillation follow-up",
)
# type -> (unit, low, high, decimals)
_MEASUREMENTS = {
    "heart_rate": ("bpm", 52, 112, 0),
    "systolic_blood_pressure": ("mmHg", 98, 172, 0),
    "diastolic_blood_pressure": ("mmHg", 58, 104, 0),
    "oxygen_saturation": ("%", 89, 100, 0),
    "body_weight": ("kg", 48, 125, 1),
    "body_temperature": ("°C", 35.9, 38.6, 1),
    "blood_glucose": ("mmol/L", 3.9, 12.5, 1),
}
_DEVICE_MODELS = ("Omron M7 Intelli IT", "Withings Body+", "Nonin 3230", "iHealth Track")


def _plan_ref(index: int) -> dict:
    name = _PLAN_NAMES[index % len(_PLAN_NAMES)]
    if index >= len(_PLAN_NAMES):
        name = f"{name} ({index // len(_PLAN_NAMES) + 1})"
    return {"id": index + 1, "name": name}


def plan(i: int) -> dict:
    types = tuple(_MEASUREMENTS)
    first = int(unit("plan-types", i) * len(types))
    return {
        **_plan_ref(i),
        "description": "Synthetic remote-monitoring plan (sandbox data).",
        "duration_days": pick((30, 60, 90, 180, 365), "plan-days", i),
        "is_active": unit("plan-active", i) < 0.85,
        "measurement_types": [types[(first + k) % len(types)] for k in range(3)],
        "organization": VITALERA_ORGANIZATION,
        "created_at": iso(_BASE - timedelta(days=400 - 11 * i)),
    }


def patient(i: int, plans: int) -> dict:
    return {
        "id": i + 1,
        "external_id": f"SBX-P{i + 1:06d}",
        "birth_year": 1935 + int(unit("birth", i) * 70),
        "sex": pick(("female", "male"), "sex", i),
        "organization": VITALERA_ORGANIZATION,
        "plan": _plan_ref(i % plans) if plans else None,
        "enrolled_at": iso(_BASE + timedelta(hours=5 * i)),
    }


def measurement(i: int, patients: int) -> dict:
    owner = i % patients if patients else 0
    kind = pick(tuple(_MEASUREMENTS), "mtype", i)
    unit_name, low, high, decimals = _MEASUREMENTS[kind]
    value = round(low + (high - low) * unit("mvalue", i), decimals)
    return {
        "id": i + 1,
        "patient": {"id": owner + 1, "external_id": f"SBX-P{owner + 1:06d}"},
        "type": kind,
        "value": int(value) if decimals == 0 else value,
        "unit": unit_name,
        "measured_at": iso(_BASE + timedelta(minutes=7 * i)),
        "device": {
            "id": f"SBX-D{owner + 1:06d}",
            "model": pick(_DEVICE_MODELS, "device", owner),
        },
    }


# vidaplus: one user (the seeded account) and their records.
VIDAPLUS_USER = {
    "id": 1,
    "email": acc.VIDAPLUS_USERNAME,
    "full_name": acc.VIDAPLUS_FULL_NAME,
    "is_active": True,
    "organization": {"id": 7, "name": "VidaPlus Sandbox Clinic", "country": "PT"},
}
_RECORD_KINDS = ("heart_rate", "steps", "sleep_duration", "blood_pressure", "body_weight")


def record(i: int) -> dict:
    kind = pick(_RECORD_KINDS, "rkind", i)
    u = unit("rvalue", i)
    values = {
        "heart_rate": ({"bpm": 55 + int(u * 50)}, "bpm"),
        "steps": ({"count": int(u * 14000)}, "steps"),
        "sleep_duration": ({"minutes": 300 + int(u * 240)}, "min"),
        "blood_pressure": ({"systolic": 105 + int(u * 55), "diastolic": 62 + int(u * 35)}, "mmHg"),
        "body_weight": ({"kg": round(55 + u * 50, 1)}, "kg"),
    }
    value, unit_name = values[kind]
    return {
        "id": i + 1,
        "kind": kind,
        "value": value,
        "unit": unit_name,
        "recorded_at": iso(_BASE + timedelta(minutes=53 * i)),
        "source": {
            "device": pick(("Apple Watch", "Fitbit Charge 6", "Withings BPM Connect"), "rdev", i),
            "app": {"name": "vidaplus", "version": "3.4.1"},
        },
        "owner": {"id": VIDAPLUS_USER["id"], "email": VIDAPLUS_USER["email"]},
    }
