"""Arabic dates: reading the dates news pages print, in every form they print them.

``parse_date(text)`` finds the first date expression in a piece of text and
returns it as a ``FoundDate``: the date (with time and offset when the text
gives them), whether a label says it is the publication or the update date,
and the calendar it was written in. It reads

- Arabic-Indic (٠-٩) and Persian (۰-۹) digits;
- every Gregorian month-name family: Egyptian/Gulf (يناير … ديسمبر), Levantine
  (كانون الثاني … كانون الأول), Maghrebi (جانفي، فيفري، أفريل، ماي، جوان، جويلية،
  أوت …), Moroccan (يوليوز، غشت، شتنبر، نونبر، دجنبر), paired forms such as
  ``تشرين الثاني/نوفمبر`` and English month names;
- weekday prefixes, and labels (``نشر في``, ``تاريخ النشر``, ``آخر تحديث``);
- numeric dates, day first (``01/11/2020``, ``١ / ١٢ / ٢٠٢٠``), and ISO 8601;
- Hijri dates marked ``هـ`` or written with Hijri month names, converted to
  the Gregorian date on the Umm al-Qura calendar (hijridate);
- relative dates (``منذ 3 ساعات``, ``أمس``), resolved against the fetch time;
- times (``10:30``, ``10:30 م``, ``الساعة 4 مساءً``) and offsets (``GMT+3``, ``+03:00``).

Names are matched after a light normalisation (alef forms, taa marbuta, alif
maqsura, tashkeel, tatweel), so spelling variants need no table entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Literal
from urllib.parse import urlsplit

from hijridate import Hijri

from archive.normalize import normalize

Kind = Literal["published", "modified"]


def _names(table: dict[int, list[str]]) -> dict[str, int]:
    return {normalize(name).lower(): number for number, names in table.items() for name in names}


# Every spelling of each Gregorian month, all families together: no two families
# use one word for different months, so one table serves them all.
GREGORIAN_MONTHS = _names(
    {
        1: ["يناير", "كانون الثاني", "جانفي", "جانفييه", "January", "Jan"],
        2: ["فبراير", "شباط", "فيفري", "February", "Feb"],
        3: ["مارس", "آذار", "March", "Mar"],
        4: ["أبريل", "إبريل", "نيسان", "أفريل", "April", "Apr"],
        5: ["مايو", "أيار", "ماي", "May"],
        6: ["يونيو", "يونيه", "حزيران", "جوان", "June", "Jun"],
        7: ["يوليو", "يوليه", "تموز", "جويلية", "يوليوز", "July", "Jul"],
        8: ["أغسطس", "آب", "أوت", "غشت", "August", "Aug"],
        9: ["سبتمبر", "أيلول", "شتنبر", "September", "Sep", "Sept"],
        10: ["أكتوبر", "تشرين الأول", "October", "Oct"],
        11: ["نوفمبر", "تشرين الثاني", "نونبر", "November", "Nov"],
        12: ["ديسمبر", "كانون الأول", "دجنبر", "December", "Dec"],
    }
)
HIJRI_MONTHS = _names(
    {
        1: ["محرم"],
        2: ["صفر"],
        3: ["ربيع الأول", "ربيع الاول"],
        4: ["ربيع الآخر", "ربيع الثاني"],
        5: ["جمادى الأولى", "جمادى الاولى"],
        6: ["جمادى الآخرة", "جمادى الثانية"],
        7: ["رجب"],
        8: ["شعبان"],
        9: ["رمضان"],
        10: ["شوال"],
        11: ["ذو القعدة", "ذي القعدة"],
        12: ["ذو الحجة", "ذي الحجة"],
    }
)
WEEKDAYS = [
    normalize(d)
    for d in ["السبت", "الأحد", "الإثنين", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة"]
]

PUBLISHED_LABELS = [
    normalize(s) for s in ["نشر", "تاريخ النشر", "نشر بتاريخ", "published", "posted"]
]
MODIFIED_LABELS = [
    normalize(s)
    for s in ["آخر تحديث", "تحديث", "تم التحديث", "updated", "modified", "last updated"]
]


def _alternation(names: list[str]) -> str:
    # Longest first, so "كانون الثاني" wins over a shorter name inside it.
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_MONTH = _alternation([*GREGORIAN_MONTHS, *HIJRI_MONTHS])
_SEP = r"\s*[/\-.،,]?\s*"
_HIJRI_MARK = r"(?P<hijri>\s*(?:هـ|ه\b|هجري\w*))?"
_AD_MARK = r"(?:\s*(?:م\b|ميلادي\w*))?"
_TIME = (
    r"(?:\s*[-–,،|]?\s*(?:(?:في\s+)?الساعه\s*)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?(?::(?P<second>\d{2}))?"
    r"\s*(?P<ampm>صباحا|مساء|ظهرا|ص\b|م\b|am\b|pm\b)?"
    r"(?:\s*(?:بتوقيت\s+)?(?:gmt|utc|غرينتش|جرينتش)\s*(?P<tzsign>[+-])\s*(?P<tzhour>\d{1,2})(?::?(?P<tzmin>\d{2}))?)?)?"
)
_MONTHNAME = rf"(?P<month>{_MONTH})(?:\s*[/\-(]\s*(?P<month2>{_MONTH})\s*\)?)?"

_PATTERNS = [
    # 2022-09-14, 2022-09-14T10:30:00+03:00
    re.compile(
        r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
        r"(?:[t ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?"
        r"(?P<tz>z|[+-]\d{2}:?\d{2})?)?",
    ),
    # 14 سبتمبر 2022, ٢٦ / يناير / ٢٠٢٤, 12 سبتمبر/أيلول 2022, 15 رمضان 1445 هـ
    re.compile(
        rf"(?P<day>\d{{1,2}}){_SEP}{_MONTHNAME}{_SEP}(?P<year>\d{{4}}){_HIJRI_MARK}{_AD_MARK}{_TIME}"
    ),
    # سبتمبر 14، 2022 ; September 19, 2023
    re.compile(
        rf"{_MONTHNAME}\s+(?P<day>\d{{1,2}}){_SEP}(?P<year>\d{{4}}){_HIJRI_MARK}{_AD_MARK}{_TIME}"
    ),
    # 2022/09/14, 1445/09/15 هـ
    re.compile(
        rf"(?P<year>\d{{4}})\s*(?P<sep>[/.\-])\s*(?P<month>\d{{1,2}})\s*(?P=sep)\s*(?P<day>\d{{1,2}}){_HIJRI_MARK}{_TIME}"
    ),
    # 01/11/2020, ١ / ١٢ / ٢٠٢٠, 15-9-1445 هـ: day first
    re.compile(
        rf"(?P<day>\d{{1,2}})\s*(?P<sep>[/.\-])\s*(?P<month>\d{{1,2}})\s*(?P=sep)\s*(?P<year>\d{{4}}){_HIJRI_MARK}{_AD_MARK}{_TIME}"
    ),
]

_UNIT_TABLE = [
    (timedelta(seconds=1), ["ثانيه", "ثواني", "ثوان"]),
    (timedelta(seconds=2), ["ثانيتين"]),
    (timedelta(minutes=1), ["دقيقه", "دقائق"]),
    (timedelta(minutes=2), ["دقيقتين"]),
    (timedelta(hours=1), ["ساعه", "ساعات"]),
    (timedelta(hours=2), ["ساعتين"]),
    (timedelta(days=1), ["يوم", "ايام"]),
    (timedelta(days=2), ["يومين"]),
    (timedelta(weeks=1), ["اسبوع", "اسابيع"]),
    (timedelta(weeks=2), ["اسبوعين"]),
    (timedelta(days=30), ["شهر", "اشهر", "شهور"]),
    (timedelta(days=60), ["شهرين"]),
    (timedelta(days=365), ["سنه", "سنوات", "عام", "اعوام"]),
    (timedelta(days=730), ["سنتين", "عامين"]),
]
_UNITS = {word: delta for delta, words in _UNIT_TABLE for word in words}
_RELATIVE = re.compile(
    rf"(?:منذ|قبل)\s+(?:(?P<count>\d+)\s+)?(?P<unit>{_alternation(list(_UNITS))})"
)
_DAY_WORDS = re.compile(r"(?<!\w)(?P<word>امس|البارحه|اليوم)(?!\w)")


@dataclass(frozen=True)
class FoundDate:
    """A date read from text. ``value`` is a date, or an aware datetime when a time was given."""

    value: date | datetime
    kind: Kind | None = None
    calendar: Literal["gregorian", "hijri", "relative"] = "gregorian"
    text: str = ""

    def iso(self) -> str:
        return self.value.isoformat()


def _label(before: str) -> Kind | None:
    tail = before[-40:]
    # "آخر تحديث" contains no publication label, but "تاريخ النشر" could sit before an update
    # label on one line: the label nearest the date decides.
    best: tuple[int, Kind] | None = None
    for labels, kind in ((PUBLISHED_LABELS, "published"), (MODIFIED_LABELS, "modified")):
        for label in labels:
            at = tail.rfind(label)
            if at >= 0 and (best is None or at > best[0]):
                best = (at, kind)  # type: ignore[assignment]
    return best[1] if best else None


def _time(m: re.Match[str], day: date, default_tz: tzinfo | None) -> date | datetime:
    groups = m.groupdict()
    if groups.get("hour") is None:
        return day
    hour, minute = int(groups["hour"]), int(groups.get("minute") or 0)
    second = int(groups.get("second") or 0)
    ampm = (groups.get("ampm") or "").lower()
    if groups.get("minute") is None and not ampm:
        return day  # a bare number after a date is not a time
    if ampm in ("م", "مساء", "pm", "ظهرا") and hour < 12:
        hour += 12
    elif ampm in ("ص", "صباحا", "am") and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return day
    tz = default_tz
    if groups.get("tz"):
        raw = groups["tz"].upper()
        tz = UTC if raw == "Z" else _offset(raw[0], raw[1:3], raw[-2:])
    elif groups.get("tzsign"):
        tz = _offset(groups["tzsign"], groups["tzhour"], groups.get("tzmin") or "0")
    # No zone on the page: a naive time, rather than a guessed offset.
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz)


def _offset(sign: str, hours: str, minutes: str) -> timezone:
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def _month_number(m: re.Match[str]) -> tuple[int, bool] | None:
    """The month and whether it is a Hijri month name."""
    name = m.groupdict().get("month") or ""
    if name.isdigit():
        return int(name), False
    for candidate in (name, m.groupdict().get("month2") or ""):
        key = candidate.lower()
        if key in GREGORIAN_MONTHS:
            return GREGORIAN_MONTHS[key], False
        if key in HIJRI_MONTHS:
            return HIJRI_MONTHS[key], True
    return None


def _make_date(year: int, month: int, day: int, hijri: bool) -> date | None:
    try:
        if hijri:
            return Hijri(year, month, day).to_gregorian()
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def parse_date(
    text: str,
    *,
    now: datetime | None = None,
    default_tz: tzinfo | None = None,
    relative: bool = True,
) -> FoundDate | None:
    """The first date expression in text, or None. ``now`` resolves relative dates."""
    norm = normalize(text)
    lowered = norm.lower()
    best: tuple[int, FoundDate] | None = None
    for pattern in _PATTERNS:
        for m in pattern.finditer(lowered):
            found = _from_match(m, default_tz)
            if found is not None:
                if best is None or m.start() < best[0]:
                    best = (
                        m.start(),
                        FoundDate(
                            found[0],
                            _label(lowered[: m.start()]),
                            found[1],
                            norm[m.start() : m.end()].strip(),
                        ),
                    )
                break
    if relative and now is not None:
        for m in _RELATIVE.finditer(lowered):
            unit = _UNITS[m.group("unit")]
            count = int(m.group("count") or 1)
            when = now - unit * count
            if best is None or m.start() < best[0]:
                value = when if unit < timedelta(days=1) else when.date()
                best = (
                    m.start(),
                    FoundDate(value, _label(lowered[: m.start()]), "relative", m.group(0)),
                )
            break
        for m in _DAY_WORDS.finditer(lowered):
            if best is None or m.start() < best[0]:
                offset = 0 if m.group("word") == "اليوم" else 1
                value = (now - timedelta(days=offset)).date()
                best = (
                    m.start(),
                    FoundDate(value, _label(lowered[: m.start()]), "relative", m.group(0)),
                )
            break
    return best[1] if best else None


def _from_match(m: re.Match[str], default_tz: tzinfo | None) -> tuple[date | datetime, str] | None:
    groups = m.groupdict()
    month = _month_number(m)
    if month is None:
        return None
    number, hijri_name = month
    year, day = int(groups["year"]), int(groups["day"])
    hijri = hijri_name or bool(groups.get("hijri"))
    if not hijri and groups.get("sep") and number > 12 and day <= 12:
        number, day = day, number  # 12/31/2020: month first after all
    if not hijri and not 1800 <= year <= 2200:
        return None
    day_value = _make_date(year, number, day, hijri)
    if day_value is None:
        return None
    return _time(m, day_value, default_tz), "hijri" if hijri else "gregorian"


def parse_iso(value: str | None) -> date | datetime | None:
    """A machine-readable date (ISO 8601, as in JSON-LD and meta tags), or None."""
    if not value:
        return None
    found = _PATTERNS[0].search(value.strip().lower())
    if not found:
        return None
    result = _from_match(found, None)
    return result[0] if result else None


# A permalink's date: /2019/01/01/slug, /2017/7/12/slug, /2019-01-01-slug.
_URL_DATE = re.compile(
    r"/(?P<y>(?:19|20)\d{2})(?P<sep>[/\-])(?P<m>[01]?\d)(?P=sep)(?P<d>[0-3]?\d)(?=[/\-_.]|$)"
)


def url_date(url: str | None) -> date | None:
    """The day a permalink carries, if it carries a whole one.

    CMSs write it once, when the article is published, in the site's own time zone:
    it outlives a later re-publication and says which day a UTC timestamp falls on.
    """
    path = urlsplit(url or "").path
    for m in _URL_DATE.finditer(path):
        try:
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            continue
    return None
