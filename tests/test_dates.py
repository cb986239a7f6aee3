"""Arabic date formats as news sites print them, one row each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from archive.extract.dates import normalize, parse_date, parse_iso

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
PLUS3 = timezone(timedelta(hours=3))

CASES = [
    # text, expected ISO, kind, calendar
    # Egyptian / Gulf month names, weekdays, Arabic-Indic digits
    ("الأربعاء ١٤ سبتمبر ٢٠٢٢", "2022-09-14", None, "gregorian"),
    ("14 سبتمبر 2022", "2022-09-14", None, "gregorian"),
    ("الخميس 3 فبراير 2022", "2022-02-03", None, "gregorian"),
    ("٢٥ ديسمبر ٢٠١٩", "2019-12-25", None, "gregorian"),
    ("1 يونيه 2021", "2021-06-01", None, "gregorian"),
    ("7 يوليه 2020", "2020-07-07", None, "gregorian"),
    ("10 ابريل 2023", "2023-04-10", None, "gregorian"),
    ("10 إبريل 2023", "2023-04-10", None, "gregorian"),
    ("5 اغسطس 2021", "2021-08-05", None, "gregorian"),
    ("سبتمبر 14، 2022", "2022-09-14", None, "gregorian"),
    # Levantine month names (htmldate and dateparser give 1 January)
    ("13 أيلول 2022", "2022-09-13", None, "gregorian"),
    ("الثلاثاء 1 تشرين الثاني 2022", "2022-11-01", None, "gregorian"),
    ("20 تشرين الأول 2020", "2020-10-20", None, "gregorian"),
    ("2 كانون الثاني 2023", "2023-01-02", None, "gregorian"),
    ("31 كانون الأول 2021", "2021-12-31", None, "gregorian"),
    ("18 شباط 2024", "2024-02-18", None, "gregorian"),
    ("9 آذار 2019", "2019-03-09", None, "gregorian"),
    ("4 نيسان 2024", "2024-04-04", None, "gregorian"),
    ("15 أيار 2018", "2018-05-15", None, "gregorian"),
    ("21 حزيران 2022", "2022-06-21", None, "gregorian"),
    ("14 تموز 2023", "2023-07-14", None, "gregorian"),
    ("4 آب 2020", "2020-08-04", None, "gregorian"),
    # paired forms
    ("12 سبتمبر/أيلول 2022", "2022-09-12", None, "gregorian"),
    ("3 تشرين الثاني/نوفمبر 2023", "2023-11-03", None, "gregorian"),
    ("3 نوفمبر (تشرين الثاني) 2023", "2023-11-03", None, "gregorian"),
    # Maghrebi (Algerian, Tunisian) and Moroccan month names
    ("5 جويلية 2022", "2022-07-05", None, "gregorian"),
    ("الإثنين 17 جانفي 2022", "2022-01-17", None, "gregorian"),
    ("28 فيفري 2023", "2023-02-28", None, "gregorian"),
    ("11 أفريل 2021", "2021-04-11", None, "gregorian"),
    ("1 ماي 2024", "2024-05-01", None, "gregorian"),
    ("20 جوان 2019", "2019-06-20", None, "gregorian"),
    ("15 أوت 2022", "2022-08-15", None, "gregorian"),
    ("30 يوليوز 2021", "2021-07-30", None, "gregorian"),
    ("20 غشت 2023", "2023-08-20", None, "gregorian"),
    ("8 شتنبر 2023", "2023-09-08", None, "gregorian"),
    ("6 نونبر 2022", "2022-11-06", None, "gregorian"),
    ("25 دجنبر 2020", "2020-12-25", None, "gregorian"),
    # numeric, day first (dateparser swaps day and month in the Arabic-Indic one)
    ("01/11/2020", "2020-11-01", None, "gregorian"),
    ("١ / ١٢ / ٢٠٢٠", "2020-12-01", None, "gregorian"),
    ("٢٦ / يناير / ٢٠٢٤", "2024-01-26", None, "gregorian"),
    ("14-09-2022", "2022-09-14", None, "gregorian"),
    ("14.09.2022", "2022-09-14", None, "gregorian"),
    ("2022/09/14", "2022-09-14", None, "gregorian"),
    (
        "۱۴۰۱/۰۶/۲۳ 2022-09-14",
        "2022-09-14",
        None,
        "gregorian",
    ),  # Persian digits; the Solar Hijri year is out of range
    # labels
    ("نشر في: 13 أيلول 2022", "2022-09-13", "published", "gregorian"),
    ("تاريخ النشر: 14/09/2022", "2022-09-14", "published", "gregorian"),
    ("نُشر بتاريخ ٥ مارس ٢٠٢١", "2021-03-05", "published", "gregorian"),
    ("آخر تحديث: 15 سبتمبر 2022", "2022-09-15", "modified", "gregorian"),
    ("تم التحديث في 2 كانون الثاني 2023", "2023-01-02", "modified", "gregorian"),
    # times and zones
    ("14 سبتمبر 2022 - 10:30", "2022-09-14T10:30:00", None, "gregorian"),
    ("14 سبتمبر 2022 10:30 م", "2022-09-14T22:30:00", None, "gregorian"),
    ("الأربعاء 14 سبتمبر 2022 الساعة 04:15 مساءً", "2022-09-14T16:15:00", None, "gregorian"),
    ("14/09/2022 09:05 ص", "2022-09-14T09:05:00", None, "gregorian"),
    ("14 سبتمبر 2022 10:30 GMT+3", "2022-09-14T10:30:00+03:00", None, "gregorian"),
    ("2022-09-14T10:30:00+03:00", "2022-09-14T10:30:00+03:00", None, "gregorian"),
    ("2023-09-19T07:00:00Z", "2023-09-19T07:00:00+00:00", None, "gregorian"),
    ("2020-11-01", "2020-11-01", None, "gregorian"),
    ("September 19, 2023", "2023-09-19", None, "gregorian"),
    # Hijri (the usual libraries ignore هـ or read the Hijri year as Gregorian)
    ("15 رمضان 1445 هـ", "2024-03-25", None, "hijri"),
    ("1445/09/15 هـ", "2024-03-25", None, "hijri"),
    ("15-09-1445 هـ", "2024-03-25", None, "hijri"),
    ("١ محرم ١٤٤٦ هـ", "2024-07-07", None, "hijri"),
    ("10 ذو الحجة 1444 هجرية", "2023-06-28", None, "hijri"),
    ("الخميس 12 ربيع الأول 1445هـ الموافق 28 سبتمبر 2023م", "2023-09-27", None, "hijri"),
    # relative, against the fetch time
    ("منذ 3 ساعات", "2026-11-21T12:00:00+00:00", None, "relative"),
    ("منذ ساعتين", "2026-11-21T13:00:00+00:00", None, "relative"),
    ("منذ 5 دقائق", "2026-11-21T14:55:00+00:00", None, "relative"),
    ("منذ يومين", "2026-11-19", None, "relative"),
    ("قبل 3 أيام", "2026-11-18", None, "relative"),
    ("منذ أسبوع", "2026-11-14", None, "relative"),
    ("أمس", "2026-11-20", None, "relative"),
    ("نشر اليوم", "2026-11-21", "published", "relative"),
    # vowelled and with tatweel
    ("١٤ سَبْتَمْبَر ٢٠٢٢", "2022-09-14", None, "gregorian"),
    ("14 ســبتمبر 2022", "2022-09-14", None, "gregorian"),
]


@pytest.mark.parametrize(("text", "expected", "kind", "calendar"), CASES, ids=[c[0] for c in CASES])
def test_date_table(text, expected, kind, calendar):
    found = parse_date(text, now=NOW)
    assert found is not None, text
    assert found.iso() == expected
    assert found.kind == kind
    assert found.calendar == calendar


def test_table_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    "text",
    [
        "مشاهدة :45926",
        "عدد القتلى 49 جنديا في 2020",
        "32 سبتمبر 2022",
        "30 فبراير 2022",
        "99/99/2020",
        "منذ",
        "",
    ],
)
def test_not_dates(text):
    assert parse_date(text, now=NOW) is None


def test_relative_dates_need_a_fetch_time():
    assert parse_date("منذ 3 ساعات") is None


def test_the_first_date_in_the_text_wins():
    found = parse_date("نشر في 13 أيلول 2022 | آخر تحديث 15 أيلول 2022")
    assert found.iso() == "2022-09-13" and found.kind == "published"


def test_parse_iso():
    assert parse_iso("2022-09-14T10:30:00+03:00") == datetime(2022, 9, 14, 10, 30, tzinfo=PLUS3)
    assert parse_iso("2022-09-14") == date(2022, 9, 14)
    assert parse_iso("not a date") is None and parse_iso(None) is None


def test_normalize():
    assert normalize("أَذْرَبِيجَان ١٤") == "اذربيجان 14"
