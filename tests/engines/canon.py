"""Values rendered alike, whoever read them.

Spark (Row objects), PyIceberg (pyarrow's to_pylist), the source databases
(Python's sqlite3 and psycopg2) and `floe table scan --format jsonl` (text)
hand back the same Iceberg value in different Python shapes. canon() turns a
value of a given Iceberg type into one exact text form, so two readers agree
only when the values are equal bit for bit where it matters:

  long/int       decimal digits
  float          the float32 value's shortest repr; nan, inf, -inf
  double         the shortest repr (exact round trip); nan, inf, -inf
  decimal(p,s)   digits with exactly s fractional digits
  date           YYYY-MM-DD
  time           HH:MM:SS.ffffff
  timestamp(tz)  YYYY-MM-DD HH:MM:SS.ffffff (UTC for timestamptz)
  uuid           lower-case 8-4-4-4-12
  binary         lower-case hex
  string         the text
  boolean        true / false

No rounding anywhere: a difference in the last bit of a double or the last
microsecond of a timestamp is a difference.
"""

import datetime as dt
import json
import math
import re
import struct
import uuid as uuidlib
import decimal
from decimal import Decimal

# decimal(38, s) and wider intermediate values: never round.
decimal.getcontext().prec = 100

EPOCH = dt.datetime(1970, 1, 1)
EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _float_text(x):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))


def _f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _parse_ts_text(text):
    """floe's and the sources' timestamp text: 'YYYY-MM-DD HH:MM:SS[.f][+00|Z|+hh:mm]'."""
    t = text.strip().replace("T", " ")
    tz = None
    m = re.search(r"(Z|[+-]\d\d(:?\d\d)?)$", t)
    if m and len(t) > 10:
        zone = m.group(1)
        t = t[: m.start()]
        if zone == "Z":
            tz = dt.timezone.utc
        else:
            sign = -1 if zone[0] == "-" else 1
            hh = int(zone[1:3])
            mm = int(zone[-2:]) if len(zone) > 3 else 0
            tz = dt.timezone(sign * dt.timedelta(hours=hh, minutes=mm))
    if "." in t:
        base, frac = t.split(".")
        frac = (frac + "000000")[:6]
        t = f"{base}.{frac}"
    v = dt.datetime.fromisoformat(t)
    if tz is not None:
        v = v.replace(tzinfo=tz)
    return v


def _ts_text(v, tz):
    if isinstance(v, str):
        v = _parse_ts_text(v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return v.strftime("%Y-%m-%d %H:%M:%S.%f").rjust(26, "0")
    raise TypeError(f"timestamp value {v!r}")


def _field(v, i, name):
    """Field i (named name) of a struct value: a dict (PyIceberg, psycopg2's
    jsonb, floe's JSON lines: a missing member is null), a Spark Row, or a
    sequence in field order."""
    if isinstance(v, dict):
        return v.get(name)
    if hasattr(v, "asDict"):
        return v.asDict()[name]
    return v[i]


def _entries(v):
    """A map value's (key, value) pairs: a dict (Spark, psycopg2's jsonb,
    floe's JSON lines) or a list of pairs (PyIceberg, Iceberg Java)."""
    if isinstance(v, dict):
        return list(v.items())
    return [(e["key"], e["value"]) if isinstance(e, dict) else (e[0], e[1]) for e in v]


def canon(type_name, v):
    """The text form of value v of Iceberg type type_name (None stays None).
    A list (type {"type": "list", "element": ...}) is the JSON array of its
    elements' forms; a struct the JSON array of [name, form] per field in
    field order; a map the JSON array of [key form, value form] entries
    sorted (a map has no order)."""
    if v is None:
        return None
    t = type_name
    if isinstance(t, dict) and t.get("type") == "struct":
        return json.dumps([[f["name"], canon(f["type"], _field(v, i, f["name"]))]
                           for i, f in enumerate(t["fields"])], ensure_ascii=False)
    if isinstance(t, dict) and t.get("type") == "map":
        entries = sorted((canon(t["key"], k), canon(t["value"], x)) for k, x in _entries(v))
        return json.dumps([list(e) for e in entries], ensure_ascii=False)
    if isinstance(t, dict) and t.get("type") == "list":
        if isinstance(v, str):
            # The fixture CSVs' list text: "[a, b]", a null element "\N"
            # (elements holding ", " would be ambiguous, so the scenarios
            # have none); `floe table scan --format jsonl` gives a JSON
            # array, handled below.
            inner = v[1:-1]
            v = [] if inner == "" else [None if e == "\\N" else e for e in inner.split(", ")]
        return json.dumps([canon(t["element"], e) for e in v], ensure_ascii=False)
    if t in ("long", "int"):
        if isinstance(v, bool):
            raise TypeError(f"{t} value {v!r}")
        return str(int(v))
    if t == "boolean":
        if isinstance(v, str):
            return {"true": "true", "false": "false", "t": "true", "f": "false", "1": "true",
                    "0": "false"}[v.lower()]
        return "true" if v else "false"
    if t in ("double", "float"):
        x = float(v) if not isinstance(v, str) else float(v.replace("Infinity", "inf"))
        if t == "float" and not math.isnan(x):
            x = _f32(x)
        return _float_text(x)
    if t.startswith("decimal"):
        scale = int(re.match(r"decimal\(\s*\d+\s*,\s*(\d+)\s*\)", t).group(1))
        d = Decimal(repr(v)) if isinstance(v, float) else Decimal(str(v))
        q = d.quantize(Decimal(1).scaleb(-scale))
        if q != d:
            raise ValueError(f"{v!r} does not fit {t}")
        return format(q, "f")
    if t == "date":
        if isinstance(v, dt.datetime):
            v = v.date()
        if isinstance(v, str):
            v = dt.date.fromisoformat(v)
        if isinstance(v, int):
            v = dt.date(1970, 1, 1) + dt.timedelta(days=v)
        return v.isoformat()
    if t == "time":
        if isinstance(v, str):
            hh, mm, rest = (v.split(":") + ["0"])[:3]
            sec, _, frac = rest.partition(".")
            v = dt.time(int(hh), int(mm), int(sec), int((frac + "000000")[:6]))
        if isinstance(v, int):
            v = (dt.datetime(2000, 1, 1) + dt.timedelta(microseconds=v)).time()
        return v.strftime("%H:%M:%S.%f")
    if t in ("timestamp", "timestamptz"):
        return _ts_text(v, t == "timestamptz")
    if t == "uuid":
        if isinstance(v, (bytes, bytearray, memoryview)):
            return str(uuidlib.UUID(bytes=bytes(v)))
        return str(uuidlib.UUID(str(v)))
    if t == "binary" or t.startswith("fixed"):
        if isinstance(v, str):
            return v.lower()
        return bytes(v).hex()
    if t == "string":
        return str(v)
    raise TypeError(f"no canonical form for type {t}")


def canon_rows(types, rows):
    """rows: an iterable of sequences (column order of types); sorted tuples."""
    out = []
    for r in rows:
        out.append(tuple(canon(t, v) for t, v in zip(types, r)))
    return sorted(out, key=lambda r: tuple(("\0" if x is None else "\1" + x) for x in r))
