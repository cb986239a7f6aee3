"""Build the bundled offline mirror (mirror/bundled/) from the seed annotations.

Run: python tools/build_mirror.py   (rewrites mirror/bundled/ deterministically)

The HTML templates here are arshif's own: each copies the structure of one
seed site (its widgets, date line, title handling) as the seed page and
tests/golden/gold.json describe it. Article texts are the seed paragraphs
(test material). Every site gets its seed article plus generated articles
made of seed paragraphs, reachable the way such a site exposes them:

  newest 10   : feed, home page, listing page 1, sitemap
  next 15     : only listing pages 2 and 3 (some linked under another URL form)
  oldest 9    : only the sitemap
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from urllib.parse import quote

from archive.store.fingerprint import MAX_DISTANCE, distance, simhash

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "tests" / "golden" / "gold.json"
OUT = ROOT / "mirror" / "bundled"
TRUTH_FILE = ROOT / "tests" / "golden" / "mirror-truth.json"
N_ARTICLES = 34
FEED_N, LISTING_END = 10, 25

AR_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
EG_MONTHS = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس",
             "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"]  # fmt: skip
WEEKDAYS = ["الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"]


@dataclass
class Article:
    key: str
    title: str
    paragraphs: list[str]
    published: datetime
    path: str = ""
    ident: int = 0
    seed: str | None = None
    subheads: dict[int, str] = field(default_factory=dict)  # before paragraph i
    pullquotes: dict[int, str] = field(default_factory=dict)  # after paragraph i
    alt_path: str | None = None  # another URL form listings use (redirect or alias)


def e(text: str) -> str:
    return escape(text, quote=True)


def slugify(title: str) -> str:
    keep = "".join(c if c.isalnum() or c == " " else " " for c in title)
    return "-".join(keep.split()[:9])


def rng_for(name: str) -> random.Random:
    return random.Random(int(hashlib.sha256(name.encode()).hexdigest()[:16], 16))


def lebanontab_date(d: datetime) -> str:
    return f"{WEEKDAYS[d.weekday()]} {d.day} {EG_MONTHS[d.month - 1]} {d.year}".translate(AR_DIGITS)


def iso(d: datetime) -> str:
    return d.isoformat()


# -- articles -----------------------------------------------------------------------


def all_paragraphs(gold: dict) -> list[str]:
    return [p for g in gold.values() for p in g["text_paragraphs"] if len(p.split()) >= 12]


# News of other kinds, written for the mirror: a demo where every article is about
# one war makes every search find everything. Plain Arabic letters, digits and the
# Arabic comma only, so the single-byte code pages of the legacy pages hold them.
TOPICS: dict[str, list[str]] = {
    "economy": [
        "سجل سعر صرف الدولار في السوق الموازية ارتفاعا جديدا صباح اليوم، ما انعكس مباشرة على أسعار المواد الغذائية والمحروقات في المحلات والمحطات.",
        "وقال عدد من التجار إن حركة البيع تراجعت بنسبة كبيرة خلال الأسبوعين الأخيرين، بعدما فضل المواطنون شراء الحاجات الأساسية فقط وتأجيل ما عداها.",
        "وأعلن المصرف المركزي في بيان أنه سيضخ كميات إضافية من العملة الأجنبية عبر المصارف، في محاولة للحد من تقلبات السعر وطمأنة الأسواق.",
        "ويرى خبراء اقتصاديون أن هذه الإجراءات تبقى مؤقتة ما لم تترافق مع إصلاحات في المالية العامة وخطة واضحة لإعادة هيكلة القطاع المصرفي.",
        "وارتفعت أسعار الخبز للمرة الثالثة هذا العام، بعد أن رفعت وزارة الاقتصاد سعر ربطة الخبز تماشيا مع كلفة الطحين والمازوت المستورد.",
    ],
    "sport": [
        "حسم فريق النجمة لقب الدوري المحلي لكرة القدم بعد فوزه على منافسه المباشر بهدفين نظيفين في المباراة التي أقيمت مساء أمس على ملعب المدينة الرياضية.",
        "وسجل المهاجم الشاب الهدف الأول في الدقيقة العشرين من ضربة رأسية، قبل أن يضيف زميله الهدف الثاني من ركلة جزاء في الشوط الثاني.",
        "وقال مدرب الفريق في المؤتمر الصحفي بعد المباراة إن اللاعبين قدموا موسما استثنائيا رغم الظروف الصعبة وقلة الإمكانات المادية للنادي.",
        "وتستعد بعثة المنتخب الوطني لكرة السلة للسفر الأسبوع المقبل للمشاركة في التصفيات الآسيوية، وسط آمال بالتأهل إلى النهائيات للمرة الأولى منذ سنوات.",
        "وشهدت المدرجات حضورا جماهيريا كبيرا بعد قرار الاتحاد السماح بعودة المشجعين إلى الملاعب بكامل طاقتها الاستيعابية للمرة الأولى هذا الموسم.",
    ],
    "weather": [
        "تتأثر البلاد اعتبارا من مساء الغد بمنخفض جوي مصحوب بكتل هوائية باردة، يحمل أمطارا غزيرة ورياحا ناشطة وتساقطا للثلوج على المرتفعات.",
        "ودعت مصلحة الأرصاد الجوية المواطنين إلى توخي الحذر أثناء القيادة على الطرق الجبلية، وتجنب الاقتراب من مجاري الأنهر والسيول خلال ساعات الليل.",
        "وأعلنت وزارة التربية إقفال المدارس الرسمية والخاصة في المناطق الجبلية يوم الخميس، حفاظا على سلامة التلاميذ والأساتذة بسبب العاصفة.",
        "وعملت فرق الدفاع المدني طوال الليل على فتح الطرقات التي أغلقتها الثلوج، وساعدت عددا من العائلات التي علقت سياراتها على الطريق الدولية.",
        "ويتوقع أن تعود الأحوال الجوية إلى الاستقرار مطلع الأسبوع المقبل مع ارتفاع تدريجي في درجات الحرارة وانحسار الرياح في المناطق الساحلية.",
    ],
    "culture": [
        "افتتح معرض الكتاب العربي الدولي دورته الجديدة بمشاركة أكثر من مئتي دار نشر من عشرين بلدا، وسط إقبال لافت من الزوار في يومه الأول.",
        "ويتضمن برنامج المعرض ندوات فكرية وتواقيع لكتب جديدة وأمسيات شعرية، إضافة إلى جناح خاص بكتب الأطفال وورش عمل للقراءة والكتابة.",
        "وقال رئيس النادي الثقافي المنظم إن الدورة الحالية تكرس عودة المعرض إلى موعده السنوي بعد انقطاع، رغم ارتفاع كلفة الطباعة والورق.",
        "وفاز فيلم روائي قصير لمخرجة شابة بالجائزة الكبرى في مهرجان السينما المستقلة، وهو يروي قصة عائلة تعيش في حي قديم مهدد بالهدم.",
        "وتستضيف قلعة المدينة هذا الصيف سلسلة حفلات موسيقية يحييها فنانون من المنطقة، على أن يخصص جزء من ريعها لترميم المواقع الأثرية.",
    ],
    "health": [
        "أطلقت وزارة الصحة العامة حملة وطنية للتلقيح ضد شلل الأطفال والحصبة، تستهدف الأطفال دون الخامسة في المدارس ومراكز الرعاية الصحية الأولية.",
        "وأوضح مدير الرعاية الصحية الأولية أن اللقاحات مجانية ومتوافرة في جميع المراكز، داعيا الأهل إلى مراجعة أقرب مركز لاستكمال السجل الصحي لأطفالهم.",
        "وحذرت نقابة الصيادلة من نقص في بعض أدوية الأمراض المزمنة بسبب تأخر الاستيراد، مطالبة الجهات المعنية بتسريع صرف الاعتمادات للمستوردين.",
        "وسجلت المستشفيات الحكومية ارتفاعا في عدد المراجعين خلال الشهر الماضي، بعدما عجز كثير من المرضى عن تحمل كلفة العلاج في المستشفيات الخاصة.",
        "وشارك مئات المتطوعين في يوم طبي مجاني نظمته جمعية أهلية في القرى النائية، تضمن فحوصات للضغط والسكري واستشارات في طب الأسنان والعيون.",
    ],
}
TOPIC_SHARE = 5  # one generated article in five is about something else


def vary_topics(site: str, articles: list[Article]) -> None:
    """Give some generated articles another subject, from TOPICS, in place.

    A separate random stream, so the dates, order and URLs the main one drew for
    the other articles stay as they were. Each text is drawn again until its
    fingerprint is far from every earlier one's, so the archive never groups two
    of them as one story (only the wire story and its repost must be).
    """
    rng = rng_for(f"{site}-topics")
    generated = [a for a in articles if not a.seed]
    chosen = rng.sample(generated, len(generated) // TOPIC_SHARE)
    pool = [p for ps in TOPICS.values() for p in ps]
    titles: set[str] = set()  # one site's titles differ (some sites' URLs are made of them)
    for a in chosen:
        for _ in range(200):
            topic = rng.choice(sorted(TOPICS))
            # Three or more paragraphs: a page kind needs 250 characters of running text.
            paragraphs = rng.sample(TOPICS[topic], rng.randint(3, 4))
            title = " ".join(paragraphs[0].split()[:8]).rstrip("،,.:؛")
            print_ = simhash(" ".join(paragraphs))
            if title not in titles and all(
                distance(print_, other) > 4 * MAX_DISTANCE for other in TOPIC_PRINTS
            ):
                break
        else:
            raise RuntimeError(
                f"{site}: no topic article unlike the others ({len(pool)} paragraphs)"
            )
        TOPIC_PRINTS.append(print_)
        titles.add(title)
        a.paragraphs, a.title = paragraphs, title


TOPIC_PRINTS: list[int] = []


def make_articles(site: str, seed: dict, pool: list[str]) -> list[Article]:
    rng = rng_for(site)
    base = datetime.fromisoformat(seed["published"]).replace(hour=9, tzinfo=UTC)
    offsets = rng.sample([d for d in range(-40, 6) if d != 0], N_ARTICLES - 1)
    firsts = rng.sample(pool, N_ARTICLES - 1)
    articles = []
    for i, (offset, first) in enumerate(zip(offsets, firsts, strict=True)):
        rest = rng.sample([p for p in pool if p != first], rng.randint(2, 5))
        title = " ".join(first.split()[:8]).rstrip("،,.:؛")
        when = base + timedelta(days=offset, hours=rng.randint(0, 12), minutes=rng.randint(0, 59))
        articles.append(Article(f"{site}-{i}", title, [first, *rest], when))
    seed_article = Article(
        f"{site}-seed",
        seed["title"],
        list(seed["text_paragraphs"]),
        base.replace(hour=10, minute=30),
        seed=seed["seed"],
    )
    vary_topics(site, articles)
    articles.append(seed_article)
    articles.sort(key=lambda a: a.published, reverse=True)
    return articles


def partition(articles: list[Article]) -> tuple[list[Article], list[Article], list[Article]]:
    return articles[:FEED_N], articles[FEED_N:LISTING_END], articles[LISTING_END:]


# -- shared XML writers ---------------------------------------------------------------


def rss(channel_title: str, home: str, items: list[tuple[str, Article, str | None]]) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f"<channel><title>{e(channel_title)}</title><link>{e(home)}</link><language>ar</language>",
    ]
    for url, a, guid in items:
        out.append(
            f"<item><title>{e(a.title)}</title><link>{e(url)}</link>"
            f"<pubDate>{a.published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            + (f'<guid isPermaLink="false">{e(guid)}</guid>' if guid else "")
            + f"<description>{e(a.paragraphs[0][:200])}</description></item>"
        )
    out.append("</channel></rss>")
    return "\n".join(out) + "\n"


def atom(title: str, home: str, items: list[tuple[str, Article]]) -> str:
    updated = max(a.published for _, a in items)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ar">',
        f"<title>{e(title)}</title><id>{e(home)}</id><updated>{iso(updated)}</updated>",
        f'<link rel="alternate" type="text/html" href="{e(home)}"/>',
    ]
    for url, a in items:
        out.append(
            f'<entry><title>{e(a.title)}</title><link rel="alternate" href="{e(url)}"/>'
            f"<id>{e(url)}</id><published>{iso(a.published)}</published>"
            f"<updated>{iso(a.published)}</updated></entry>"
        )
    out.append("</feed>")
    return "\n".join(out) + "\n"


def urlset(entries: list[tuple[str, Article]], news: str | None = None) -> str:
    ns = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{ns}>']  # fmt: skip
    for url, a in entries:
        item = f"<url><loc>{e(url)}</loc><lastmod>{iso(a.published)}</lastmod>"
        if news:
            item += (
                f"<news:news><news:publication><news:name>{e(news)}</news:name>"
                "<news:language>ar</news:language></news:publication>"
                f"<news:publication_date>{iso(a.published)}</news:publication_date>"
                f"<news:title>{e(a.title)}</news:title></news:news>"
            )
        out.append(item + "</url>")
    out.append("</urlset>")
    return "\n".join(out) + "\n"


def sitemapindex(urls: list[str]) -> str:
    body = "".join(f"<sitemap><loc>{e(u)}</loc></sitemap>" for u in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>\n'
    )


def page(lang_title: str, head: str, body: str, dir_: str = "rtl", lang: str = "ar") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}" dir="{dir_}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(lang_title)}</title>\n{head}</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def paragraphs_html(a: Article, pullquote_class: str = "pull-quote") -> str:
    parts = []
    for i, p in enumerate(a.paragraphs):
        if i in a.subheads:
            parts.append(f"<h2>{e(a.subheads[i])}</h2>")
        parts.append(f"<p>{e(p)}</p>")
        if i in a.pullquotes:
            parts.append(
                f'<blockquote class="{pullquote_class}"><p>{e(a.pullquotes[i])}</p></blockquote>'
            )
    return "\n".join(parts)


TRUTH: list[dict[str, object]] = []
WIRE_STORY: dict = {}  # seed 003's story, set in main()
TRUTH_EXTRA: dict[str, str] = {}  # article key -> codec, for the single-byte pages


def _fits(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def truth(w: SiteWriter, site: str, articles: list[Article]) -> None:
    """Record what extraction must find in each article page (tests and the quality script)."""
    for a in articles:
        paragraphs = []
        for i, p in enumerate(a.paragraphs):
            if i in a.subheads:
                paragraphs.append(a.subheads[i])
            paragraphs.append(p)
        TRUTH.append(
            {
                "site": site,
                "url": w.url(quote(a.path)),
                "file": f"{w.host}/{a.path.lstrip('/')}"
                + ("index.html" if a.path.endswith("/") else ""),
                "seed": a.seed,
                "title": a.title,
                "published": a.published.date().isoformat(),
                "text_paragraphs": paragraphs,
                "encoding": TRUTH_EXTRA.get(a.key, "utf-8"),
            }
        )


class SiteWriter:
    def __init__(self, host: str) -> None:
        self.host = host
        self.root = OUT / host
        self.routes: list[dict[str, object]] = []
        self.host_config: dict[str, object] = {}

    def url(self, path: str) -> str:
        return f"https://{self.host}{path}"

    def write(self, path: str, text: str | bytes) -> None:
        target = self.root / path.lstrip("/")
        if path.endswith("/"):
            target = target / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)

    def route(self, **entry: object) -> None:
        self.routes.append(entry)

    def finish(self) -> None:
        lines = ["# Routes for URLs that are not plain files (see mirror/bundled/README.md).\n"]
        if self.host_config:
            lines.append("[host]")
            for k, v in self.host_config.items():
                lines.append(f"{k} = {toml_value(v)}")
            lines.append("")
        for r in self.routes:
            lines.append("[[route]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in r.items()]
            lines.append("")
        (self.root / "_mirror.toml").write_text("\n".join(lines), encoding="utf-8")


def toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(v, ensure_ascii=False)


def link_list(items: list[tuple[str, str]], cls: str = "article-list") -> str:
    lis = "\n".join(f'<li><a href="{e(href)}">{e(text)}</a></li>' for href, text in items)
    return f'<ul class="{cls}">\n{lis}\n</ul>'


def pager(pages: list[str], current: int) -> str:
    links = []
    for i, href in enumerate(pages, start=1):
        if i == current:
            links.append(f'<span class="current">{i}</span>')
        else:
            rel = ' rel="next"' if i == current + 1 else ""
            links.append(f'<a href="{e(href)}"{rel}>{i}</a>')
    return f'<nav class="pager">{" ".join(links)}</nav>'


# -- lebanontab: custom CMS ----------------------------------------------------------


def build_lebanontab(seed: dict, pool: list[str]) -> None:
    w = SiteWriter("www.lebanontab.com")
    site_title = "Lebanon News I ليبانون تابلويد : أخبار الساعة من لبنان والعالم!"
    arts = make_articles("lebanontab", seed, pool)
    for n, a in enumerate(sorted(arts, key=lambda a: a.published)):
        a.ident = 85700 + n * 3
    seed_art = next(a for a in arts if a.seed)
    seed_art.ident = 85755
    for a in arts:
        a.path = f"/ar/{a.ident}/{slugify(a.title)}"
    assert seed_art.path == "/ar/85755/" + seed["known_url"].rsplit("/", 1)[1], seed_art.path
    newest, middle, oldest = partition(arts)
    # Two pages from the old CMS: windows-1256 with no charset anywhere, and
    # ISO-8859-6 declared only in a <meta>; the server sends bare text/html.
    rng = rng_for("lebanontab-legacy")
    legacy = []
    for n, (codec, meta) in enumerate(
        [
            ("cp1256", ""),
            (
                "iso8859-6",
                '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-6">',
            ),
        ]
    ):
        encodable = [p for p in pool if all(_fits(p, c) for c in ("cp1256", "iso8859-6"))]
        first, *rest = rng.sample(encodable, 3)
        title = " ".join(first.split()[:8]).rstrip("،,.:؛")
        a = Article(
            f"lebanontab-legacy-{n}",
            title,
            [first, *rest],
            datetime(2010, 5, 3 + 14 * n, 8, tzinfo=UTC),
        )
        a.ident = 1203 + 4 * n
        a.path = f"/ar/{a.ident}/{slugify(title)}"
        legacy.append((a, codec, meta))
    oldest = oldest + [a for a, _, _ in legacy]
    TRUTH_EXTRA.update({a.key: codec for a, codec, _ in legacy})

    videos = [("45926", "يناير"), ("42806", "يونيو"), ("42361", "يناير")]
    for a in [*arts, *(a for a, _, _ in legacy)]:
        lead, body = a.paragraphs[0], a.paragraphs[1:]
        video_items = "\n".join(
            f'<li><a href="/ar/videos/{9000 + i}"><img src="/images/v{i}.jpg" alt=""></a>'
            f'<div class="video-meta"><span class="views">مشاهدة :{v}</span> '
            f'<span class="video-date">الجمعة ٢٦ / {m} / ٢٠٢٤</span></div></li>'
            for i, (v, m) in enumerate(videos)
        )
        html = page(
            site_title,
            f'<meta property="og:title" content="{e(a.title)}">\n'
            f'<link rel="canonical" href="{e(w.url(quote(a.path)))}">\n',
            f"""<header class="site-header"><a href="/"><img src="/images/logo.png" alt=""></a>
<nav class="main-menu"><a href="/ar/category/lebanon">لبنان</a> <a href="/ar/category/world">العالم</a></nav></header>
<main class="article-page">
<article class="article">
<h1 class="article-title">{e(a.title)}</h1>
<h2 class="article-lead">{e(lead)}</h2>
<div class="article-date">{lebanontab_date(a.published)}</div>
<div class="subscribe-box"><p>اخبار ليبانون تابلويد الآن عبر خدمة<br><a href="https://wa.me/000000">اضغط هنا</a></p></div>
<div class="article-body">
{paragraphs_html(Article(a.key, a.title, body, a.published))}
<p>\xa0</p>
</div>
</article>
<section class="latest-videos"><h3>أحدث مقاطع الفيديو</h3><ul>
{video_items}
</ul></section>
<section class="photo-gallery"><h3>معرض الصور</h3><div class="gallery-strip">
<a href="/ar/gallery/1"><img src="/images/g1.jpg" alt=""></a><a href="/ar/gallery/2"><img src="/images/g2.jpg" alt=""></a>
</div></section>
</main>""",
        )
        codec = TRUTH_EXTRA.get(a.key)
        if codec:
            meta = next(m for x, _, m in legacy if x is a)
            html = html.replace('<meta charset="utf-8">\n', meta + "\n" if meta else "")
            # The old CMS printed Western digits; neither code page has Arabic-Indic ones.
            html = html.replace("\xa0", " ").translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
            w.write(a.path, html.encode(codec))
            w.route(url=a.path, file=a.path.lstrip("/"), content_type="text/html")
        else:
            w.write(a.path, html)
    truth(w, "lebanontab", [*arts, *(a for a, _, _ in legacy)])

    def listing_page(
        items: list[Article], heading: str, extra: str = "", encode: str = "raw"
    ) -> str:
        def href(a: Article) -> str:
            if encode == "lower":
                return quote(a.path).lower()
            return a.path

        return page(
            site_title,
            "",
            f'<header class="site-header"><a href="/">ليبانون تابلويد</a></header>\n'
            f"<main><h1>{e(heading)}</h1>\n{link_list([(href(a), a.title) for a in items])}\n{extra}</main>",
        )

    # Home: the newest, some links carrying tracking parameters; one dead link.
    home_links = [(a.path + ("?utm_source=home&utm_medium=web" if i % 3 == 0 else ""), a.title)
                  for i, a in enumerate(newest)]  # fmt: skip
    home_links.append(("/ar/85699/مقال-محذوف", "مقال محذوف"))  # 404: deleted
    home_links.append(("/ar/99999/مقال-للمشتركين", "مقال للمشتركين"))  # robots.txt forbids it
    w.write(
        "/",
        page(
            site_title,
            "",
            '<header class="site-header"><nav class="main-menu"><a href="/ar/category/lebanon">لبنان</a> '
            '<a href="/ar/category/world">العالم</a></nav></header>\n'
            f"<main><h1>آخر الأخبار</h1>\n{link_list(home_links)}</main>",
        ),
    )
    section = "/ar/category/lebanon"
    pages = [section, f"{section}?page=2", f"{section}?page=3"]
    chunks = [newest, middle[:8], middle[8:]]
    for i, chunk in enumerate(chunks, start=1):
        html = listing_page(chunk, "لبنان", pager(pages, i), encode="lower" if i > 1 else "raw")
        if i == 1:
            w.write(section, html)
        else:
            w.write(f"/ar/category/lebanon-page-{i}.html", html)
            w.route(url=f"{section}?page={i}", file=f"ar/category/lebanon-page-{i}.html")
    w.write("/ar/category/world", listing_page(newest[::2], "العالم"))
    w.write(
        "/robots.txt",
        "User-agent: *\nDisallow: /admin/\nDisallow: /ar/99999/\n\n"
        f"Sitemap: {w.url('/sitemap-news.xml')}\nSitemap: {w.url('/sitemap.xml')}\n",
    )
    w.write(
        "/sitemap-news.xml",
        urlset([(w.url(quote(a.path)), a) for a in newest], news="ليبانون تابلويد"),
    )
    months: dict[str, list[Article]] = {}
    for a in oldest:
        months.setdefault(a.published.strftime("%Y-%m"), []).append(a)
    w.write("/sitemap.xml", sitemapindex([w.url(f"/sitemap-{m}.xml") for m in sorted(months)]))
    for m, items in months.items():
        w.write(f"/sitemap-{m}.xml", urlset([(w.url(quote(a.path)), a) for a in items]))
    w.finish()


# -- hoseinmortada: WordPress + Jannah -----------------------------------------------


def build_hoseinmortada(seed: dict, pool: list[str]) -> None:
    w = SiteWriter("www.hoseinmortada.com")
    w.host_config = {
        "gzip": True,
        "headers": {
            "Server": "nginx",
            "Link": '<https://www.hoseinmortada.com/wp-json/>; rel="https://api.w.org/"',
        },
    }
    site_name = "مركز سونار الإعلامي"
    category = seed["category"]
    cat_path = f"/category/{slugify(category)}/"
    arts = make_articles("hoseinmortada", seed, pool)
    for n, a in enumerate(sorted(arts, key=lambda a: a.published)):
        a.ident = 41000 + n * 7
        a.path = f"{a.published:%Y/%m/%d}/{slugify(a.title)}/"
        a.path = "/" + a.path
    newest, middle, oldest = partition(arts)
    ticker = "مركز سونار الإعلامي، رؤية جديدة في مواكبة الإعلام الرقمي تابعونا على قناة اليوتيوب ليصلكم كل جديد"

    for a in arts:
        related = "\n".join(
            f'<div class="related-item"><a href="{e(b.path)}" class="post-thumb"><img src="/wp-content/uploads/r{j}.jpg" alt=""></a></div>'
            for j, b in enumerate(x for x in arts if x is not a)
            if j < 3
        )
        html = page(
            f"{a.title} - {site_name}",
            f'<link rel="canonical" href="{e(w.url(quote(a.path)))}">\n'
            f'<link rel="shortlink" href="{e(w.url(f"/?p={a.ident}"))}">\n'
            '<link rel="alternate" type="application/rss+xml" title="الخلاصة" href="https://www.hoseinmortada.com/feed/">\n'
            '<link rel="alternate" type="application/rss+xml" title="خلاصة التعليقات" href="https://www.hoseinmortada.com/comments/feed/">\n'
            f'<meta property="og:title" content="{e(a.title)}">\n'
            f'<meta property="article:published_time" content="{iso(a.published)}">\n'
            f'<meta property="article:section" content="{e(category)}">\n',
            f"""<div id="tie-container" class="site tie-container"><div id="tie-wrapper">
<header id="theme-header" class="theme-header"><div id="top-nav" class="top-nav">
<div class="breaking"><div class="breaking-news"><ul class="ticker"><li>{e(ticker)}</li></ul></div></div></div>
<div class="main-nav"><a href="/"><img src="/wp-content/uploads/logo.png" alt=""></a></div></header>
<div id="content" class="site-content container"><div class="main-content tie-col-md-8" role="main">
<article id="the-post" class="container-wrapper post-content tie-standard">
<header class="entry-header-outer"><div class="entry-header">
<span class="post-cat-wrap"><a class="post-cat" href="{e(cat_path)}">{e(category)}</a></span>
<h1 class="post-title entry-title">{e(a.title)}</h1>
<div class="post-meta"><span class="date meta-item tie-icon"></span></div>
</div></header>
<div class="entry-content entry clearfix">
{paragraphs_html(a)}
</div>
</article>
<div id="related-posts" class="container-wrapper has-extra-post"><div class="mag-box-title the-global-title"><h3>مقالات ذات صلة</h3></div>
<div class="related-posts-list">{related}</div></div>
<div id="comments" class="comments-area"><div id="respond" class="comment-respond">
<h3 id="reply-title" class="comment-reply-title">اترك تعليقاً</h3>
<form action="/wp-comments-post.php" method="post" id="commentform"><textarea name="comment"></textarea></form></div></div>
</div></div>
<a id="go-to-top" class="go-to-top-button" href="#go-to-top"><span class="tie-icon-angle-up"></span><span class="screen-reader-text">زر الذهاب إلى الأعلى</span></a>
</div></div>""",
        )
        w.write(a.path, html)
        w.route(url=f"/?p={a.ident}", redirect=quote(a.path), status=301)

    def listing(items: list[Article], heading: str, pages: list[str] | None, current: int) -> str:
        links = []
        for i, a in enumerate(items):
            # Some themes link the short form; it redirects to the permalink.
            href = f"/?p={a.ident}" if i % 4 == 1 else a.path
            links.append((href, a.title))
        return page(
            f"{heading} - {site_name}",
            '<link rel="alternate" type="application/rss+xml" title="الخلاصة" href="/feed/">\n'
            '<link rel="alternate" type="application/rss+xml" title="خلاصة التعليقات" href="/comments/feed/">\n',
            f'<div class="breaking-news"><ul class="ticker"><li>{e(ticker)}</li></ul></div>\n'
            f"<main><h1>{e(heading)}</h1>\n{link_list(links)}\n{pager(pages, current) if pages else ''}</main>",
        )

    w.write("/", listing(newest, site_name, None, 1))
    pages = [cat_path, f"{cat_path}page/2/", f"{cat_path}page/3/"]
    for i, chunk in enumerate([newest, middle[:8], middle[8:]], start=1):
        w.write(pages[i - 1], listing(chunk, category, pages, i))
    w.write(
        "/feed/",
        rss(
            site_name,
            w.url("/"),
            [(w.url(quote(a.path)), a, w.url(f"/?p={a.ident}")) for a in newest],
        ),
    )
    w.route(url="/feed/", file="feed/index.html", content_type="application/rss+xml; charset=UTF-8")
    w.write("/comments/feed/", rss(f"التعليقات على {site_name}", w.url("/"), []))
    w.route(
        url="/comments/feed/",
        file="comments/feed/index.html",
        content_type="application/rss+xml; charset=UTF-8",
    )
    w.write(
        "/robots.txt",
        "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\n"
        f"Sitemap: {w.url('/wp-sitemap.xml')}\n",
    )
    w.write(
        "/wp-sitemap.xml",
        sitemapindex(
            [w.url("/wp-sitemap-posts-post-1.xml"), w.url("/wp-sitemap-taxonomies-category-1.xml")]
        ),
    )
    w.write(
        "/wp-sitemap-posts-post-1.xml", urlset([(w.url(quote(a.path)), a) for a in newest + oldest])
    )
    w.write(
        "/wp-sitemap-taxonomies-category-1.xml",
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{e(w.url(quote(cat_path)))}</loc></url></urlset>\n",
    )
    truth(w, "hoseinmortada", arts)
    w.finish()


# -- hafryat: Drupal 7 -----------------------------------------------------------------


def hafryat_article(w: SiteWriter, a: Article, canonical: str) -> str:
    return page(
        f"{a.title} | حفريات",
        f'<link rel="canonical" href="{e(w.url(canonical))}">\n'
        f'<link rel="shortlink" href="{e(w.url(a.path))}">\n'
        '<link rel="alternate" type="application/rss+xml" title="حفريات RSS" href="https://hafryat.com/rss.xml">\n'
        f'<meta property="og:title" content="{e(a.title)}">\n',
        f"""<div id="page" class="revija"><div id="header"><a href="/" title="الرئيسية" rel="home"><img src="/sites/default/files/logo.png" alt=""></a></div>
<div class="page-title-block"><h1 class="page-title">{e(a.title)}</h1></div>
<div id="main"><div id="content" class="column">
<div id="node-{a.ident}" class="node node-article node-full">
<h2 class="node-title">{e(a.title)}</h2>
<div class="submitted"><span class="date-display-single">{a.published:%d/%m/%Y}</span></div>
<div class="field field-name-body"><div class="field-items"><div class="field-item even">
{paragraphs_html(a)}
</div></div></div>
</div></div></div>
<div class="breadcrumb"><a href="/">الصفحة الرئيسية</a></div>
</div>""",
    )


def build_hafryat(seed: dict, pool: list[str]) -> None:
    w = SiteWriter("hafryat.com")
    w.host_config = {"headers": {"X-Generator": "Drupal 7 (http://drupal.org)"}}
    arts = make_articles("hafryat", seed, pool)
    for n, a in enumerate(sorted(arts, key=lambda a: a.published)):
        a.ident = 60100 + n * 5
        a.path = f"/node/{a.ident}"
    seed_art = next(a for a in arts if a.seed)
    # The seed's pull-quotes follow its 3rd and 8th paragraphs; others get one, repeating text.
    seed_art.pullquotes = {2: seed["pullquotes_excluded"][0], 7: seed["pullquotes_excluded"][1]}
    for a in arts:
        if not a.seed:
            a.pullquotes = {1: " ".join(a.paragraphs[1].split()[:12])}
    newest, middle, oldest = partition(arts)
    for a in middle[::2]:
        a.alt_path = f"/ar{a.path}"  # linked with the language prefix only

    # Reports are linked by their Drupal path alias /تقارير/{nid}/{slug}, whose page names
    # itself canonical (as Drupal 7 does) and /node/{nid} only as its shortlink; the same
    # articles are in the feed and sitemap as /node/{nid}.
    reports = newest[1::3]
    aliases = {a.key: f"/تقارير/{a.ident}/{slugify(a.title)}" for a in reports}
    for a in arts:
        for path in [a.path, aliases.get(a.key)]:
            if path is None:
                continue
            html = hafryat_article(w, a, canonical=quote(path))
            w.write(path, html)
        if a.alt_path:
            w.route(url=a.alt_path, file=a.path.lstrip("/"))

    def listing(
        items: list[Article],
        heading: str,
        pages: list[str] | None,
        current: int,
        alias: bool = False,
    ) -> str:
        links = [((alias and aliases.get(a.key)) or a.alt_path or a.path, a.title) for a in items]
        return page(
            f"{heading} | حفريات",
            '<link rel="alternate" type="application/rss+xml" title="حفريات RSS" href="https://hafryat.com/rss.xml">\n',
            # The main menu, as on the real site: the sections are reachable from home.
            '<nav id="main-menu"><ul class="menu"><li><a href="/akhbar">أخبار</a></li>'
            '<li><a href="/taqarir">تقارير</a></li></ul></nav>\n'
            f'<div class="breadcrumb"><a href="/">الصفحة الرئيسية</a></div>\n'
            f'<div class="view view-{heading}"><h1>{e(heading)}</h1>\n{link_list(links)}\n'
            f"{pager(pages, current) if pages else ''}</div>",
        )

    w.write("/", listing(newest, "حفريات", None, 1))
    pages = ["/akhbar", "/akhbar?page=1", "/akhbar?page=2"]  # Drupal pages count from 0
    for i, chunk in enumerate([newest, middle[:8], middle[8:]], start=1):
        html = listing(chunk, "أخبار", pages, i)
        if i == 1:
            w.write("/akhbar", html)
        else:
            w.write(f"/akhbar-page-{i - 1}.html", html)
            w.route(url=f"/akhbar?page={i - 1}", file=f"akhbar-page-{i - 1}.html")
    w.write("/taqarir", listing(reports, "تقارير", None, 1, alias=True))
    # Overloaded at first: 503 with Retry-After, as a busy Drupal behind a cache does.
    w.route(url="/taqarir", file="taqarir", fail_first=1, retry_after=1)
    w.write(
        "/rss.xml",
        rss(
            "حفريات",
            w.url("/"),
            [(w.url(a.path), a, f"{a.ident} at https://hafryat.com") for a in newest],
        ),
    )
    w.route(url="/rss.xml", file="rss.xml", content_type="application/rss+xml; charset=utf-8")
    w.write(
        "/robots.txt",
        "# robots.txt (Drupal 7)\nUser-agent: *\nCrawl-delay: 1\nDisallow: /admin/\nDisallow: /comment/reply/\n"
        "Disallow: /filter/tips/\nDisallow: /node/add/\nDisallow: /search/\nDisallow: /user/\n"
        f"Sitemap: {w.url('/sitemap.xml')}\n",
    )
    w.write("/sitemap.xml", urlset([(w.url(a.path), a) for a in newest + oldest]))
    truth(w, "hafryat", arts)
    w.finish()


# -- 001: unidentified custom CMS ------------------------------------------------------


def build_custom_news(seed: dict, pool: list[str]) -> None:
    w = SiteWriter("www.custom-news.example")
    arts = make_articles("custom_news", seed, pool)
    # The wire story the seed-003 auto-blog reposts, carried here too under its own
    # title: one story on two sites, for near-duplicate grouping.
    wire = WIRE_STORY
    arts.append(
        Article("custom_news-wire", "باكو تطلق عملية عسكرية في كاراباخ", list(wire["text_paragraphs"]),
                datetime.fromisoformat(wire["published"]).replace(hour=14, tzinfo=UTC))
    )  # fmt: skip
    arts.sort(key=lambda a: a.published, reverse=True)
    for n, a in enumerate(sorted(arts, key=lambda a: a.published)):
        a.ident = 230400 + n * 11
        a.path = f"/news/{a.ident}.html"
    newest, middle, oldest = partition(arts)
    for a in arts:
        ld = json.dumps(
            {"@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
             "datePublished": iso(a.published)},
            ensure_ascii=False,
        ).replace("</", "<\\/")  # fmt: skip
        html = page(
            a.title,
            f'<script type="application/ld+json">{ld}</script>\n'
            '<link rel="alternate" type="application/rss+xml" href="/rss.xml">\n',
            f"""<div class="wrapper"><div class="logo"><a href="/"><img src="/img/logo.svg" alt=""></a></div>
<div class="news-details">
<h1 class="news-title">{e(a.title)}</h1>
<div class="news-text">{"".join(f"<p>{e(p)}</p>" for p in a.paragraphs)}</div>
<div class="share-bar"><span class="share-count">0</span></div>
<div class="comments-box"><h4>التعليقات (0)</h4><div class="comments-list"></div></div>
</div>
<aside class="sidebar">
<div class="most-read"><h3>الأكثر قراءة</h3><ul class="most-read-list" data-src="/api/most-read"></ul></div>
<div class="tags-cloud"><h3>💡 أهم المواضيع</h3><div class="cloud" data-src="/api/tags"></div></div>
<div class="cats-cloud"><h3>✨ أهم التصنيفات</h3><div class="cloud" data-src="/api/cats"></div></div>
</aside></div>""",
        )
        w.write(a.path, html)

    pages = ["/", "/?page=2", "/?page=3"]
    for i, chunk in enumerate([newest, middle[:8], middle[8:]], start=1):
        html = page(
            "أخبار اليوم",
            '<link rel="alternate" type="application/rss+xml" href="/rss.xml">\n',
            f"<main><h1>آخر الأخبار</h1>\n{link_list([(a.path, a.title) for a in chunk])}\n{pager(pages, i)}</main>",
        )
        if i == 1:
            w.write("/", html)
        else:
            w.write(f"/page-{i}.html", html)
            w.route(url=f"/?page={i}", file=f"page-{i}.html")
    w.write("/rss.xml", rss("أخبار اليوم", w.url("/"), [(w.url(a.path), a, None) for a in newest]))
    w.route(url="/rss.xml", file="rss.xml", content_type="application/rss+xml; charset=utf-8")
    w.write("/robots.txt", f"User-agent: *\nDisallow: /api/\nSitemap: {w.url('/sitemap.xml')}\n")
    w.write("/sitemap.xml", sitemapindex([w.url("/sitemap-1.xml")]))
    w.write("/sitemap-1.xml", urlset([(w.url(a.path), a) for a in newest + oldest]))
    truth(w, "custom_news", arts)
    w.finish()


# -- a hostile site, for tests only ---------------------------------------------------


def build_hostile(pool: list[str]) -> None:
    """A page whose title reads as a script and whose body runs one.

    The archive must show the first as text and run neither, anywhere. It is a
    site of its own, declared in test-sites.toml, so the demo (the listed sites
    and extra-sites.toml) never shows it; the tests that need it crawl it.
    """
    w = SiteWriter("www.hostile.example")
    about_putin = [p for p in pool if "بوتين" in p]  # the tests search for it
    when = datetime(2022, 9, 20, 8, 0, tzinfo=UTC)
    arts = [
        Article("hostile-0", " ".join(about_putin[0].split()[:8]) + ' <script>alert("arshif")</script>',
                about_putin[:3], when, path="/news/1.html"),
        Article("hostile-1", " ".join(about_putin[3].split()[:8]), about_putin[3:6],
                when - timedelta(days=1), path="/news/2.html"),
    ]  # fmt: skip
    attack = (
        '<script>window.arshifPwned = true; alert("pwned")</script>'
        '<img src="/img/none.png" alt="" onerror="window.arshifPwned = true">'
    )
    for a in arts:
        body = "".join(f"<p>{e(p)}</p>" for p in a.paragraphs)
        w.write(
            a.path,
            page(
                a.title,
                f'<meta property="article:published_time" content="{iso(a.published)}">\n',
                f'<main><article><h1 class="news-title">{e(a.title)}</h1>\n'
                f'<div class="news-text">{body}{attack if a.key == "hostile-0" else ""}</div>'
                "</article></main>",
            ),
        )
    w.write("/", page("أخبار", "", f"<main>{link_list([(a.path, a.title) for a in arts])}</main>"))
    w.write("/robots.txt", "User-agent: *\nDisallow:\n")
    w.finish()


TEST_SITES = """\
# A site the bundled mirror serves for tests only: pages built to attack the
# browser (a script in a title, scripts in the body). Not in the demo; tests
# crawl it with `arshif crawl --sites mirror/bundled/test-sites.toml hostile`.

[sites.hostile]
name = "Hostile test pages"
domains = ["www.hostile.example"]
article_urls = ['^/news/\\d+\\.html$']
listing_urls = ['^/$']
"""


# -- 003: WordPress auto-blog, English-locale theme -----------------------------------


def build_repost_blog(seed: dict, pool: list[str]) -> None:
    w = SiteWriter("www.repost-blog.example")
    arts = make_articles("repost_blog", seed, pool)
    seed_art = next(a for a in arts if a.seed)
    # The seed's subheads are paragraphs of their own in gold; render them as <h2>.
    subheads = set(seed["subheads_kept_in_text"])
    paragraphs, heads = [], {}
    for p in seed_art.paragraphs:
        if p in subheads:
            heads[len(paragraphs)] = p
        else:
            paragraphs.append(p)
    seed_art.paragraphs, seed_art.subheads = paragraphs, heads
    for n, a in enumerate(sorted(arts, key=lambda a: a.published)):
        a.ident = 5100 + n
        a.path = f"/{slugify(a.title)}/"
    newest, middle, oldest = partition(arts)
    for a in arts:
        html = page(
            f"{a.title} | أخبار – Repost Blog",
            f'<link rel="canonical" href="{e(w.url(quote(a.path)))}">\n'
            '<link rel="alternate" type="application/atom+xml" title="Repost Blog &raquo; Feed" href="/feed/atom/">\n'
            f'<meta property="article:published_time" content="{iso(a.published)}">\n',
            f"""<div id="page" class="site"><header id="masthead" class="site-header"><p class="site-title"><a href="/" rel="home">Repost Blog</a></p></header>
<div id="content" class="site-content"><main id="main" class="site-main">
<article id="post-{a.ident}" class="post-{a.ident} post type-post status-publish">
<header class="entry-header"><h1 class="entry-title">{e(a.title)} | أخبار</h1>
<div class="entry-meta"><span class="posted-on"></span> | <span class="byline"></span></div></header>
<div class="entry-content">
{paragraphs_html(a)}
<p><a href="https://www.aljazeera.net/news/{a.ident}" target="_blank" rel="noopener">Source link</a></p>
</div>
<footer class="entry-footer"><span class="comments-link"><a href="{e(a.path)}#respond">Leave a Comment</a></span></footer>
</article></main></div></div>""",
            dir_="ltr",
            lang="en-US",
        )
        w.write(a.path, html)

    pages = ["/", "/page/2/", "/page/3/"]
    for i, chunk in enumerate([newest, middle[:8], middle[8:]], start=1):
        w.write(
            pages[i - 1],
            page(
                "Repost Blog",
                '<link rel="alternate" type="application/atom+xml" href="/feed/atom/">\n',
                f"<main>{link_list([(a.path, a.title) for a in chunk])}\n{pager(pages, i)}</main>",
                dir_="ltr",
                lang="en-US",
            ),
        )
    w.write(
        "/feed/atom/", atom("Repost Blog", w.url("/"), [(w.url(quote(a.path)), a) for a in newest])
    )
    w.route(
        url="/feed/atom/",
        file="feed/atom/index.html",
        content_type="application/atom+xml; charset=UTF-8",
    )
    w.write("/robots.txt", "User-agent: *\nDisallow: /wp-admin/\n")
    w.write("/wp-sitemap.xml", sitemapindex([w.url("/wp-sitemap-posts-post-1.xml")]))
    w.write(
        "/wp-sitemap-posts-post-1.xml", urlset([(w.url(quote(a.path)), a) for a in newest + oldest])
    )
    truth(w, "repost_blog", arts)
    w.finish()


EXTRA_SITES = """\
# Sites served by the bundled mirror but not in arshif's registry: the two
# unidentified seed templates, on .example hosts. They are added the way a user
# adds any site: `arshif crawl --sites mirror-extra-sites.toml` or ARSHIF_SITES.

[sites.custom_news]
name = "Custom news CMS (seed 001)"
domains = ["www.custom-news.example"]
# No feeds or sitemaps given: the feed is found through <link rel="alternate">,
# the sitemaps through robots.txt.
article_urls = ['^/news/\\d+\\.html$']
listing_urls = ['^/(?:\\?page=\\d+)?$']
cleanup = ["//*[contains(@class, 'comments-box')]", "//*[contains(@class, 'share-bar')]", "//aside"]

[sites.repost_blog]
cms = "wordpress"
domains = ["www.repost-blog.example"]
feeds = ["/feed/atom/"]
"""


def main() -> None:
    gold = json.loads(GOLD.read_text(encoding="utf-8"))
    by_prefix = {k[:3]: v for k, v in gold.items()}
    pool = all_paragraphs(gold)
    WIRE_STORY.update(by_prefix["003"])
    readme = (
        (OUT / "README.md").read_text(encoding="utf-8") if (OUT / "README.md").exists() else None
    )
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    if readme:
        (OUT / "README.md").write_text(readme, encoding="utf-8")
    build_lebanontab(by_prefix["000"], pool)
    build_custom_news(by_prefix["001"], pool)
    build_hoseinmortada(by_prefix["002"], pool)
    build_repost_blog(by_prefix["003"], pool)
    build_hafryat(by_prefix["004"], pool)
    build_hostile(pool)
    (OUT / "extra-sites.toml").write_text(EXTRA_SITES, encoding="utf-8")
    (OUT / "test-sites.toml").write_text(TEST_SITES, encoding="utf-8")
    TRUTH_FILE.write_text(json.dumps(TRUTH, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    count = sum(1 for p in OUT.rglob("*") if p.is_file())
    print(f"mirror written to {OUT} ({count} files)")


if __name__ == "__main__":
    main()
