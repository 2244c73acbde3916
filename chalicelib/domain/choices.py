"""Packages (套餐), extras (加购) and requirement forms (需求表): what a service offers to
choose from, and what an order was chosen with.

A service may have up to 3 packages and 10 extras; ordering one then names a package
(required when there are packages) and any extras, and the amount is the package's
price plus the extras' — a negotiable service still takes the buyer's `price` instead.
A service may also ask up to 10 questions; a required one must be answered. Pure: the
service's lists come in as plain dicts.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain.errors import ValidationFailed

PACKAGES_MAX, EXTRAS_MAX, QUESTIONS_MAX = 3, 10, 10
NAME_MAX, DESCRIPTION_MAX, LABEL_MAX, ANSWER_MAX = 20, 200, 50, 2000
DELIVERY_DAYS = (1, 365)
REVISIONS_MAX = 99
KINDS = ("text", "file")


@dataclass(frozen=True)
class Choice:
    amount: int
    list_amount: int  # what the provider's own menu asks for this choice
    package: dict | None = None
    extras: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    delivery_days: int | None = None

    def default_due(self, now: datetime) -> datetime | None:
        """The due date a package proposes: its delivery days from now."""
        return now + timedelta(days=self.delivery_days) if self.delivery_days else None


def menu_problems(packages: list, extras: list, questions: list) -> list[dict]:
    """What is wrong with a service's menu beyond each item's shape: repeated names or ids."""
    problems = []
    for name, items, key in (("packages", packages, "name"), ("extras", extras, "name"),
                             ("questions", questions, "id")):
        seen = set()
        for i, item in enumerate(items or []):
            if item[key] in seen:
                problems.append({"field": f"{name}[{i}].{key}", "problem": "repeated"})
            seen.add(item[key])
    return problems


def choose(*, packages: list, extras: list, questions: list, pricing: str, list_price: int,
           package: str | None, extra_names: list, answers: dict, price: int | None) -> Choice:
    """The order's amount and snapshot from the buyer's choice, or every problem at once."""
    problems = []
    chosen = None
    if packages:
        chosen = next((p for p in packages if p["name"] == package), None)
        if package is None:
            problems.append({"field": "package", "problem": "required",
                             "packages": [p["name"] for p in packages]})
        elif chosen is None:
            problems.append({"field": "package", "problem": "no such package",
                             "packages": [p["name"] for p in packages]})
    elif package is not None:
        problems.append({"field": "package", "problem": "this service has no packages"})
    by_name = {e["name"]: e for e in extras or []}
    picked = []
    for i, name in enumerate(extra_names or []):
        if name not in by_name:
            problems.append({"field": f"extras[{i}]", "problem": "no such extra"})
        else:
            picked.append({"name": name, "price": int(by_name[name]["price"])})
    problems += _answer_problems(questions or [], answers or {})
    if problems:
        raise ValidationFailed("the choice does not fit the service", errors=problems)
    base = int(chosen["price"]) if chosen else list_price
    list_amount = base + sum(e["price"] for e in picked)
    if pricing == "negotiable":
        amount = price if price is not None else list_amount
    elif price is not None and price != list_amount:
        raise ValidationFailed("a fixed-price service is ordered at its list price",
                               errors=[{"field": "price", "problem": "must equal the list price",
                                        "price": list_amount}])
    else:
        amount = list_amount
    return Choice(amount=amount, list_amount=list_amount, package=_snapshot(chosen),
                  extras=picked, answers=dict(answers or {}),
                  delivery_days=int(chosen["delivery_days"]) if chosen else None)


def _answer_problems(questions: list, answers: dict) -> list[dict]:
    problems = []
    ids = {q["id"] for q in questions}
    for key in answers:
        if key not in ids:
            problems.append({"field": f"answers.{key}"[:80], "problem": "no such question"})
    for q in questions:
        given = answers.get(q["id"])
        if given is None or not str(given).strip():
            if q.get("required"):
                problems.append({"field": f"answers.{q['id']}", "problem": "required",
                                 "label": q["label"]})
        elif len(given) > ANSWER_MAX:
            problems.append({"field": f"answers.{q['id']}", "problem": "too long",
                             "max": ANSWER_MAX})
    return problems


def _snapshot(package: dict | None) -> dict | None:
    if package is None:
        return None
    revisions = package.get("revisions")
    return {"name": package["name"], "price": int(package["price"]),
            "delivery_days": int(package["delivery_days"]),
            "revisions": None if revisions is None else int(revisions),
            "description": package.get("description") or ""}


def revisions_left(package: dict | None, revision_count: int) -> bool:
    """Whether the buyer may send a delivery back once more under the chosen package
    (no package, or revisions null: unlimited)."""
    if not package or package.get("revisions") is None:
        return True
    return revision_count < int(package["revisions"])
