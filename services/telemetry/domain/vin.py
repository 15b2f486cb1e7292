"""VIN decoding for display (T1, T8, T9): model from character 4, year from character 10."""
from __future__ import annotations

TESLA_WMI = ("5YJ", "7SA", "XP7", "LRW", "7G2", "SFZ")
MODELS = {"S": "Model S", "3": "Model 3", "X": "Model X", "Y": "Model Y", "R": "Roadster", "C": "Cybertruck",
          "T": "Semi"}
_YEARS = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 2010 (A) … 2039 (9)


def decode(vin: str | None) -> tuple[str | None, int | None]:
    """(model name, model year) or (None, None) for a VIN that is not a Tesla one."""
    if not vin or len(vin) != 17 or vin[:3].upper() not in TESLA_WMI:
        return None, None
    model = MODELS.get(vin[3].upper())
    idx = _YEARS.find(vin[9].upper())
    year = 2010 + idx if idx >= 0 else None
    return model, year


def display_model(vin: str | None) -> str | None:
    model, year = decode(vin)
    if model is None:
        return None
    return f"{year} {model}" if year else model
