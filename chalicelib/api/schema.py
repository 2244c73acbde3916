"""Declarative request schemas: the one definition that both validates input and
produces the OpenAPI document, so the two cannot drift.

A schema is a tree of `Field`s. `validate()` returns cleaned Python values or raises
`ValidationFailed` listing every problem at once (`details.errors`).
"""
import math
import re
import unicodedata
from datetime import datetime, timezone

from chalicelib.domain.errors import ValidationFailed

# Control characters (NUL included) are never meaningful in our text fields; newlines
# and tabs are, in rich content.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_INT = 10**12  # far above any price in fen, far below DynamoDB's number limits
MIN_YEAR, MAX_YEAR = 1970, 9998


class _Problems:
    def __init__(self):
        self.items: list[dict] = []

    def add(self, path: str, problem: str, **extra):
        self.items.append({"field": path or "(body)", "problem": problem, **extra})


class Field:
    json_type = "string"

    def __init__(self, *, required: bool = True, nullable: bool = False, description: str = "",
                 example=None):
        self.required = required
        self.nullable = nullable
        self.description = description
        self.example = example

    def clean(self, value, path: str, problems: _Problems):
        raise NotImplementedError

    def schema(self) -> dict:
        out = {"type": self.json_type, **self._schema_extra()}
        if self.nullable:
            out["nullable"] = True
        if self.description:
            out["description"] = self.description
        if self.example is not None:
            out["example"] = self.example
        return out

    def _schema_extra(self) -> dict:
        return {}


class Str(Field):
    def __init__(self, min_len: int = 0, max_len: int = 255, *, multiline: bool = False, **kw):
        super().__init__(**kw)
        self.min_len, self.max_len, self.multiline = min_len, max_len, multiline

    def clean(self, value, path, problems):
        if not isinstance(value, str):
            problems.add(path, "must be a string")
            return None
        if _CONTROL.search(value) or (not self.multiline and ("\n" in value or "\r" in value)):
            problems.add(path, "contains control characters")
            return None
        # Normalise to NFC so that lengths and duplicate checks see one spelling.
        value = unicodedata.normalize("NFC", value)
        length = len(value)
        if self.min_len and len(value.strip()) < self.min_len:
            problems.add(path, "too short", min_length=self.min_len, length=length)
            return None
        if length > self.max_len:
            problems.add(path, "too long", max_length=self.max_len, length=length)
            return None
        return value

    def _schema_extra(self):
        return {"minLength": self.min_len, "maxLength": self.max_len}


class Enum(Field):
    def __init__(self, choices, **kw):
        super().__init__(**kw)
        self.choices = list(choices)

    def clean(self, value, path, problems):
        if value not in self.choices or not isinstance(value, str):
            problems.add(path, "must be one of the allowed values", allowed=self.choices)
            return None
        return value

    def _schema_extra(self):
        return {"enum": self.choices}


class Int(Field):
    json_type = "integer"

    def __init__(self, minimum: int = 0, maximum: int = MAX_INT, **kw):
        super().__init__(**kw)
        self.minimum, self.maximum = minimum, maximum

    def clean(self, value, path, problems):
        # bool is an int in Python and floats lose money: refuse both.
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(path, "must be an integer")
            return None
        if value < self.minimum:
            problems.add(path, "too small", minimum=self.minimum)
            return None
        if value > self.maximum:
            problems.add(path, "too large", maximum=self.maximum)
            return None
        return value

    def _schema_extra(self):
        return {"minimum": self.minimum, "maximum": self.maximum}


class Bool(Field):
    json_type = "boolean"

    def clean(self, value, path, problems):
        if not isinstance(value, bool):
            problems.add(path, "must be true or false")
            return None
        return value


class DateTime(Field):
    def clean(self, value, path, problems):
        if not isinstance(value, str) or len(value) > 40:
            problems.add(path, "must be an ISO 8601 date-time with offset")
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            problems.add(path, "must be an ISO 8601 date-time with offset")
            return None
        # Stored keys are UTC strings compared as text: a year outside four digits would
        # overflow the conversion (a 500) or sort wrongly ("999-…" after "2026-…").
        if not MIN_YEAR <= parsed.year <= MAX_YEAR \
                or not MIN_YEAR <= parsed.astimezone(timezone.utc).year <= MAX_YEAR:
            problems.add(path, "out of range", minimum=f"{MIN_YEAR}-01-01T00:00:00+00:00",
                         maximum=f"{MAX_YEAR}-12-31T23:59:59+00:00")
            return None
        return parsed

    def _schema_extra(self):
        return {"format": "date-time"}


class ListOf(Field):
    json_type = "array"

    def __init__(self, item: Field, min_items: int = 0, max_items: int = 100, *,
                 unique: bool = False, **kw):
        super().__init__(**kw)
        self.item, self.min_items, self.max_items, self.unique = item, min_items, max_items, unique

    def clean(self, value, path, problems):
        if not isinstance(value, list):
            problems.add(path, "must be a list")
            return None
        if not self.min_items <= len(value) <= self.max_items:
            problems.add(path, "wrong number of items", min_items=self.min_items,
                         max_items=self.max_items)
            return None
        before = len(problems.items)
        out = [self.item.clean(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
        if len(problems.items) == before and self.unique:
            try:
                if len(set(out)) != len(out):
                    problems.add(path, "items must be unique")
            except TypeError:
                pass
        return out

    def _schema_extra(self):
        return {"items": self.item.schema(), "minItems": self.min_items,
                "maxItems": self.max_items}


class Obj(Field):
    json_type = "object"

    def __init__(self, fields: dict[str, Field], name: str | None = None, *,
                 extensible: bool = False, **kw):
        super().__init__(**kw)
        # extensible: an answer that may carry more fields than listed (the order grows
        # with every feature); input is always held to the listed fields.
        self.fields, self.name, self.extensible = fields, name, extensible

    def clean(self, value, path, problems):
        if not isinstance(value, dict):
            problems.add(path, "must be a JSON object")
            return None
        out = {}
        for key in value:
            if key not in self.fields:
                problems.add(_join(path, str(key)[:64]), "unknown field")
        for key, field in self.fields.items():
            sub = _join(path, key)
            if key not in value:
                if field.required:
                    problems.add(sub, "required")
                continue
            if value[key] is None:
                if field.nullable:
                    out[key] = None
                elif field.required:
                    problems.add(sub, "must not be null")
                continue
            out[key] = field.clean(value[key], sub, problems)
        return out

    def _schema_extra(self):
        required = [k for k, f in self.fields.items() if f.required]
        out = {"properties": {k: f.schema() for k, f in self.fields.items()},
               "additionalProperties": self.extensible}
        if required:
            out["required"] = required
        return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate(schema: Field, value):
    """Clean `value` against `schema` or raise ValidationFailed with every problem."""
    problems = _Problems()
    out = schema.clean(value, "", problems)
    if problems.items:
        raise ValidationFailed("some fields are invalid", errors=problems.items[:50])
    return out


def is_finite_json_number(value) -> bool:
    return not (isinstance(value, float) and (math.isinf(value) or math.isnan(value)))


class Free(Field):
    """Any JSON object: a field whose keys are data (e.g. an event's `data`)."""
    json_type = "object"

    def clean(self, value, path, problems):
        if not isinstance(value, dict):
            problems.add(path, "must be a JSON object")
            return None
        return value


class Number(Field):
    """A number that may have a fraction (an average rating); never money."""
    json_type = "number"

    def __init__(self, minimum: float, maximum: float, **kw):
        super().__init__(**kw)
        self.minimum, self.maximum = minimum, maximum

    def clean(self, value, path, problems):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not is_finite_json_number(value) or not self.minimum <= value <= self.maximum:
            problems.add(path, "must be a number in range", minimum=self.minimum,
                         maximum=self.maximum)
            return None
        return value

    def _schema_extra(self):
        return {"minimum": self.minimum, "maximum": self.maximum}
