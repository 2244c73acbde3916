"""A contract's terms (条款), agreed before anything is paid: their shape and their
validation, which names every wrong field (`terms.<name>`). Pure Python."""
from dataclasses import dataclass

from chalicelib.domain.errors import ValidationFailed

MONTH, QUARTER = "month", "quarter"
POSTPAID, PREPAID = "postpaid", "prepaid"
MAX_BPS = 10000
MAX_FEN = 10**12


@dataclass(frozen=True)
class Terms:
    period: str
    billing: str
    base: int
    commission_bps: int
    deposit: int
    trial_days: int
    trial_fee: int
    notice_days: int
    schedule: dict
    kpis: tuple
    confidential: bool
    breach: str

    def as_dict(self) -> dict:
        return {"period": self.period, "billing": self.billing, "base": self.base,
                "commission_bps": self.commission_bps, "deposit": self.deposit,
                "trial_days": self.trial_days, "trial_fee": self.trial_fee,
                "notice_days": self.notice_days, "schedule": dict(self.schedule),
                "kpis": list(self.kpis), "confidential": self.confidential,
                "breach": self.breach}


def _int(raw: dict, name: str, low: int, high: int, errors: list, prefix="terms.") -> int:
    value = raw.get(name)
    if value is None:
        errors.append({"field": prefix + name, "problem": "required"})
    elif isinstance(value, bool) or not isinstance(value, int):
        errors.append({"field": prefix + name, "problem": "must be an integer"})
    elif not low <= value <= high:
        errors.append({"field": prefix + name, "problem": "out of range",
                       "minimum": low, "maximum": high})
    else:
        return value
    return 0


def _text(raw: dict, name: str, low: int, high: int, errors: list, prefix="terms.") -> str:
    value = raw.get(name)
    if not isinstance(value, str):
        errors.append({"field": prefix + name,
                       "problem": "required" if value is None else "must be a string"})
    elif not low <= len(value.strip() if low else value) or len(value) > high:
        errors.append({"field": prefix + name, "problem": "wrong length",
                       "min_length": low, "max_length": high})
    else:
        return value
    return ""


def _choice(raw: dict, name: str, choices: tuple, errors: list) -> str:
    value = raw.get(name)
    if value not in choices:
        errors.append({"field": f"terms.{name}",
                       "problem": "required" if value is None else "not one of the choices",
                       "choices": list(choices)})
        return choices[0]
    return value


_HOURS = "hh:mm-hh:mm"


def _hours_ok(value: str) -> bool:
    parts = value.split("-")
    if len(parts) != 2:
        return False
    for part in parts:
        hm = part.split(":")
        if len(hm) != 2 or not all(p.isdigit() and len(p) == 2 for p in hm):
            return False
        if not (0 <= int(hm[0]) <= 24 and 0 <= int(hm[1]) <= 59) or (
                int(hm[0]) == 24 and int(hm[1])):
            return False
    return True


def check_terms(raw) -> Terms:
    """The terms as agreed, or `ValidationFailed` naming every wrong field (`terms.<name>`)."""
    if not isinstance(raw, dict):
        raise ValidationFailed("the terms are invalid",
                               errors=[{"field": "terms", "problem": "must be a JSON object"}])
    errors: list = []
    period = _choice(raw, "period", (MONTH, QUARTER), errors)
    billing = _choice(raw, "billing", (POSTPAID, PREPAID), errors)
    base = _int(raw, "base", 0, MAX_FEN, errors)
    bps = _int(raw, "commission_bps", 0, MAX_BPS, errors)
    if billing == PREPAID and bps:
        errors.append({"field": "terms.commission_bps", "problem": "prepaid terms take no commission"})
    deposit = _int(raw, "deposit", 0, MAX_FEN, errors)
    trial_days = _int(raw, "trial_days", 0, 90, errors)
    trial_fee = _int(raw, "trial_fee", 0, MAX_FEN, errors)
    notice_days = _int(raw, "notice_days", 0, 90, errors)
    schedule = raw.get("schedule")
    clean_schedule: dict = {}
    if not isinstance(schedule, dict):
        errors.append({"field": "terms.schedule",
                       "problem": "required" if schedule is None else "must be a JSON object"})
    else:
        p = "terms.schedule."
        clean_schedule = {"agents": _int(schedule, "agents", 1, 500, errors, p),
                          "hours": _text(schedule, "hours", 1, 50, errors, p),
                          "shifts": _int(schedule, "shifts", 1, 10, errors, p),
                          "holidays": _text(schedule, "holidays", 0, 500, errors, p)}
        if clean_schedule["hours"] and not _hours_ok(clean_schedule["hours"]):
            errors.append({"field": "terms.schedule.hours", "problem": f"must read {_HOURS}"})
    kpis = raw.get("kpis")
    if not isinstance(kpis, list) or len(kpis) > 10:
        errors.append({"field": "terms.kpis", "problem": "a list of at most 10 texts"})
        kpis = []
    for i, kpi in enumerate(kpis):
        if not isinstance(kpi, str) or not 1 <= len(kpi.strip()) or len(kpi) > 100:
            errors.append({"field": f"terms.kpis[{i}]", "problem": "a text of 1..100 characters"})
    confidential = raw.get("confidential")
    if not isinstance(confidential, bool):
        errors.append({"field": "terms.confidential", "problem": "must be true or false"})
    breach = _text(raw, "breach", 0, 1000, errors)
    unknown = sorted(set(raw) - set(Terms.__dataclass_fields__))
    errors += [{"field": f"terms.{name}", "problem": "unknown field"} for name in unknown]
    if errors:
        raise ValidationFailed("the terms are invalid", errors=errors)
    return Terms(period, billing, base, bps, deposit, trial_days, trial_fee, notice_days,
                 clean_schedule, tuple(kpis), confidential, breach)
