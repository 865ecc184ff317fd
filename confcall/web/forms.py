"""Declared input: one ``Form`` per action serves the HTML form, the JSON API and the OpenAPI
document, so the three cannot disagree about what a field accepts.

A form parses a mapping (form fields as text, or a JSON object with typed values) into
clean values plus a list of ``FieldError`` — each names the field and the rule, and renders in
the page's language.  Parsing never raises on bad input and never touches the database:
business rules (is this number blocked? is there credit?) stay in the services.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .i18n import t

__all__ = ["Field", "FieldError", "Form", "parse_local_datetime"]

_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{1,24}$")
_TRUE, _FALSE = ("1", "on", "true", "yes"), ("", "0", "off", "false", "no")


@dataclass(frozen=True)
class FieldError:
    field: str
    key: str  # i18n key of the rule (field.required, field.range, ...)
    label: str  # i18n key of the field's name
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        name = self.label[1:] if self.label.startswith("=") else t(lang, self.label)
        return t(lang, self.key, field=name, **self.params)

    def as_json(self, lang: str) -> dict[str, str]:
        return {"field": self.field, "code": self.key, "message": self.text(lang)}


@dataclass(frozen=True)
class Field:
    """``kind``: text, digits, int, phone (one number), phones (a list), datetime (local time
    in the form, ISO 8601 with offset in JSON), date, bool, choice, timezone."""
    name: str
    label: str
    kind: str = "text"
    required: bool = True
    min: int | None = None  # length (text/digits), value (int), count (phones)
    max: int | None = None
    choices: tuple[str, ...] = ()
    default: Any = None
    doc: str = ""
    pattern: str = ""  # text: the whole value must match (``field.pattern`` otherwise)

    # -- parsing --------------------------------------------------------------------------------
    def parse(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        missing = raw is None or (isinstance(raw, str) and raw.strip() == "") or \
            (self.kind == "phones" and not typed and raw == [])
        if missing:
            if self.kind == "bool" and not typed:
                return False, None  # an unticked checkbox is absent from the form
            if self.required:
                return self._err("field.required")
            return self.default, None
        return getattr(self, f"_{self.kind}")(raw, typed)

    def _err(self, key: str, **params: Any) -> tuple[None, FieldError]:
        return None, FieldError(self.name, key, self.label, params)

    def _str(self, raw: Any) -> str | None:
        return raw.strip() if isinstance(raw, str) else None

    def _length(self, value: str) -> tuple[Any, FieldError | None]:
        if self.max is not None and len(value) > self.max:
            return self._err("field.too_long", max=self.max)
        if self.min is not None and len(value) < self.min:
            return self._err("field.too_short", min=self.min)
        return value, None

    def _text(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        value = self._str(raw)
        if value is None or "\x00" in value:
            return self._err("field.type")
        if self.pattern and not re.fullmatch(self.pattern, value):
            return self._err("field.pattern")
        return self._length(value)

    def _digits(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        value = self._str(raw)
        if value is None:
            return self._err("field.type")
        if not (value.isascii() and value.isdigit()):
            return self._err("field.digits")
        return self._length(value)

    def _int(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        if typed:
            if not isinstance(raw, int) or isinstance(raw, bool):
                return self._err("field.integer")
            value = raw
        else:
            text = self._str(raw) or ""
            if not re.fullmatch(r"-?[0-9]{1,19}", text):
                return self._err("field.integer")
            value = int(text)
        low = -(2 ** 62) if self.min is None else self.min
        high = 2 ** 62 if self.max is None else self.max
        if not low <= value <= high:
            return self._err("field.range", min=low, max=high)
        return value, None

    def _bool(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        if typed:
            return (raw, None) if isinstance(raw, bool) else self._err("field.boolean")
        value = (self._str(raw) or "").lower()
        if value in _TRUE:
            return True, None
        if value in _FALSE:
            return False, None
        return self._err("field.boolean")

    def _choice(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        value = self._str(raw)
        return (value, None) if value in self.choices else self._err("field.choice")

    def _phone(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        value = self._str(raw)
        if value is None:
            return self._err("field.type")
        if not _PHONE.match(value) or not value.isascii():
            return self._err("field.phone")
        return value, None

    def _phones(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        if typed:
            if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
                return self._err("field.type")
            items = [x.strip() for x in raw]
        else:
            if isinstance(raw, list):
                raw = "\n".join(str(x) for x in raw)
            items = [x.strip() for x in re.split(r"[\n,;，、]+", str(raw))]
        items = [x for x in items if x]
        if not items and self.required:
            return self._err("field.required")
        if self.max is not None and len(items) > self.max:
            return self._err("field.too_many", max=self.max)
        for item in items:
            if not _PHONE.match(item) or not item.isascii():
                return self._err("field.phone")
        return items, None

    def _timezone(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        value = self._str(raw)
        if value is None or not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z0-9_+\-]+){0,2}", value):
            return self._err("field.timezone")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            return self._err("field.timezone")
        return value, None

    def _datetime(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        value = self._str(raw)
        if value is None:
            return self._err("field.type")
        try:
            parsed = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        except ValueError:
            return self._err("field.datetime")
        if typed and parsed.tzinfo is None:
            return self._err("field.datetime")  # the API needs the offset: never guess
        if not 2000 <= parsed.year <= 2200:
            return self._err("field.datetime")
        return parsed, None  # naive from a form: the caller applies the subscriber's zone

    def _date(self, raw: Any, typed: bool) -> tuple[Any, FieldError | None]:
        value = self._str(raw)
        try:
            parsed = datetime.strptime(value or "", "%Y-%m-%d")
        except ValueError:
            return self._err("field.date")
        if not 2000 <= parsed.year <= 2200:
            return self._err("field.date")
        return parsed.date(), None

    # -- OpenAPI --------------------------------------------------------------------------------
    def schema(self) -> dict[str, Any]:
        s: dict[str, Any]
        if self.kind == "int":
            s = {"type": "integer"}
            if self.min is not None:
                s["minimum"] = self.min
            if self.max is not None:
                s["maximum"] = self.max
        elif self.kind == "bool":
            s = {"type": "boolean"}
        elif self.kind == "phones":
            s = {"type": "array", "items": {"type": "string", "pattern": _PHONE.pattern}}
            if self.min is not None:
                s["minItems"] = self.min
            if self.max is not None:
                s["maxItems"] = self.max
        elif self.kind == "choice":
            s = {"type": "string", "enum": list(self.choices)}
        elif self.kind == "datetime":
            s = {"type": "string", "format": "date-time"}
        elif self.kind == "date":
            s = {"type": "string", "format": "date"}
        else:
            s = {"type": "string"}
            if self.kind == "digits":
                s["pattern"] = "^[0-9]+$"
            if self.kind == "phone":
                s["pattern"] = _PHONE.pattern
            if self.pattern:
                s["pattern"] = f"^(?:{self.pattern})$"
            if self.min is not None:
                s["minLength"] = self.min
            if self.max is not None:
                s["maxLength"] = self.max
        if self.doc:
            s["description"] = self.doc
        if self.default is not None:
            s["default"] = self.default
        return s


@dataclass(frozen=True)
class Form:
    name: str
    fields: tuple[Field, ...]

    def parse(self, data: Mapping[str, Any], *, typed: bool = False
              ) -> tuple[dict[str, Any], list[FieldError]]:
        """Clean values and errors.  ``typed``: a JSON object (types checked, unknown keys
        refused); otherwise HTML form text (unknown fields such as ``csrf`` ignored)."""
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        for f in self.fields:
            value, err = f.parse(data.get(f.name), typed)
            if err is not None:
                errors.append(err)
            else:
                values[f.name] = value
        if typed:
            known = {f.name for f in self.fields}
            for key in data:
                if key not in known:
                    name = str(key)[:40]
                    errors.append(FieldError(name, "field.unknown", f"={name}"))
        return values, errors

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False,
                "properties": {f.name: f.schema() for f in self.fields},
                "required": [f.name for f in self.fields if f.required]}


def parse_local_datetime(value: datetime, tz: str) -> datetime:
    """A form's naive local time in the subscriber's zone → aware; aware values pass."""
    if value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(tz))
