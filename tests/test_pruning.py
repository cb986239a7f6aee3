"""Pruning that cannot eat the article: pages built the way real sites build them.

Every page here is written for the test, in the shape real templates take (ASP.NET
WebForms, BEM and Tailwind class names, page builders, documentation sections),
so a rule that drops a wrapper by one word of its class fails here first.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from lxml import html

from archive.extract.article import extract_article
from archive.extract.cleanup import Cleaner
from archive.extract.furniture import is_screen_reader_text, is_widget

SENTENCES = [
    "أعلنت وزارة الطاقة اللبنانية اليوم عن خطة جديدة لتأمين الكهرباء في جميع المناطق.",
    "وقال الوزير في مؤتمر صحافي إن الخطة تبدأ مطلع الشهر المقبل وتستمر عامين كاملين.",
    "وأضاف أن الحكومة ستعرض تفاصيل التمويل على مجلس النواب خلال جلسته المقبلة.",
    "ورحبت الهيئات الاقتصادية بالخطة، داعية إلى إشراك القطاع الخاص في تنفيذها.",
    "وتعاني البلاد منذ سنوات من انقطاع متكرر للتيار الكهربائي يصل إلى عشرين ساعة يوميا.",
    "وأشار مراقبون إلى أن نجاح الخطة مرهون بإصلاح الشبكة وتحصيل الفواتير المتأخرة.",
]
TITLE = "وزارة الطاقة تعلن خطة جديدة للكهرباء"


def paragraphs(wrap: str = "p") -> str:
    return "".join(f"<{wrap}>{s}</{wrap}>" for s in SENTENCES)


def page(body: str) -> bytes:
    return (
        f'<html lang="ar"><head><title>{TITLE} - قناة الأخبار</title></head>'
        f"<body>{body}</body></html>"
    ).encode()


def assert_whole(text: str | None) -> None:
    assert text is not None
    for sentence in SENTENCES:
        assert sentence in text


HEADLINE = "الطاقة: خطة من ثلاث مراحل"  # the page's heading, worded otherwise than its <title>


def test_webforms_page_keeps_the_article_inside_the_form():
    # ASP.NET WebForms: the whole page is one <form>; wrappers carry widget-like words.
    body = f"""<form method="post" action="./Article.aspx?id=1" id="aspnetForm">
      <input type="hidden" name="__VIEWSTATE" value="dDwtMTA4NzI0NjY2ODs7Pg==">
      <div class="sidebar-layout__main has-sidebar">
        <div class="content-with-share-bar">
          <h2>{HEADLINE}</h2>
          <div class="article-body">{paragraphs()}</div>
        </div>
        <div class="share-buttons"><a href="#">فيسبوك</a> <a href="#">تويتر</a></div>
      </div>
      <div class="related-news"><ul><li><a href="/2">خبر آخر عن الطاقة</a></li></ul></div>
    </form>"""
    record = extract_article(page(body), "https://www.lbcgroup.tv/news/1/x")
    assert record.extraction_path == "generic"
    assert_whole(record.text)
    assert "فيسبوك" not in record.text and "خبر آخر عن الطاقة" not in record.text


def test_webforms_page_without_paragraphs_keeps_text_written_between_br():
    text = "<br><br>".join(SENTENCES)
    body = f'<form id="aspnetForm"><h2>{HEADLINE}</h2><div id="divBody">{text}</div></form>'
    record = extract_article(page(body), "https://news.example/Article.aspx?id=7")
    assert_whole(record.text)


def test_bem_and_tailwind_wrappers_are_not_widgets():
    first_half = "".join(f"<p>{s}</p>" for s in SENTENCES[:3])
    second_half = "".join(f"<p>{s}</p>" for s in SENTENCES[3:])
    body = f"""<main id="main" class="z-30 overflow-hidden w-full max-w-screen-content">
      <h1>{TITLE}</h1>
      <div class="sidebar-grid__container">
        <div class="sidebar-grid__content article__content">{first_half}</div>
      </div>
      <div class="sidebar-grid__container">
        <div class="sidebar-grid__content article__content">{second_half}</div>
      </div>
      <div class="article__share">مشاركة</div>
    </main>"""
    record = extract_article(page(body), "https://news.example/a")
    assert_whole(record.text)
    assert "مشاركة" not in record.text


@pytest.mark.parametrize(
    ("markup", "widget"),
    [
        ('<div class="sidebar-grid__content">', False),
        ('<div class="article__share">', True),
        ('<div class="comments-area">', True),
        ('<div class="related-posts">', True),
        ('<div class="post_related">', True),
        ('<div class="shared-content">', False),
        ('<div class="has-sidebar">', False),
        ('<div class="no-comments">', False),
        ('<div class="elementor-widget-container">', False),
        ('<div class="elementor-widget elementor-widget-text-editor">', False),
        ('<div class="elementor-widget elementor-widget-share-buttons">', True),
        ('<div class="widget widget_recent_entries">', True),
        ('<div class="go-to-top">', True),
        # A dialog is never the article; "show-comments" is the comments' box.
        ('<div class="scrap-modal">', True),
        ('<div class="modal-dialog">', True),
        ('<div class="show-comments">', True),
        ('<div class="has-comments">', False),
    ],
)
def test_widget_words(markup, widget):
    el = html.fragment_fromstring(markup + "x</div>")
    assert is_widget(el) is widget


def test_a_section_id_made_of_its_heading_is_no_widget():
    el = html.fragment_fromstring(
        '<div class="section" id="sharing-with-a-single-developer">'
        "<h2>Sharing with a single developer</h2><p>text</p></div>"
    )
    assert not is_widget(el)
    assert is_widget(html.fragment_fromstring('<div id="sharing-tools"><h2>Share</h2></div>'))


def test_screen_reader_text_needs_its_words_in_one_class_and_stays_short():
    short = '<span class="sr-only">زر الذهاب إلى الأعلى</span>'
    assert is_screen_reader_text(html.fragment_fromstring(short))
    tailwind = f'<div class="overflow-hidden max-w-screen-content">{SENTENCES[0]}</div>'
    assert not is_screen_reader_text(html.fragment_fromstring(tailwind))
    long = f'<div class="visually-hidden">{" ".join(SENTENCES)}</div>'
    assert not is_screen_reader_text(html.fragment_fromstring(long))


def test_a_removal_that_would_take_the_article_is_skipped_and_logged(caplog):
    tree = html.document_fromstring(
        f'<html><body><div class="newsletter-wrapper">{paragraphs()}</div>'
        '<div class="newsletter"><p>اشترك في النشرة</p></div></body></html>'
    )
    cleaner = Cleaner(tree)
    with caplog.at_level(logging.DEBUG, logger="archive.extract.cleanup"):
        cleaner.common()
    text = tree.text_content()
    assert all(s in text for s in SENTENCES)
    assert "اشترك في النشرة" not in text
    assert cleaner.skipped == ["div.newsletter.wrapper"]
    assert "holds" in caplog.text


def test_a_site_rule_that_would_take_the_article_is_skipped(caplog):
    tree = html.document_fromstring(
        f'<html><body><div class="main-col">{paragraphs()}</div>'
        '<div class="promo-box"><p>عرض خاص</p></div></body></html>'
    )
    cleaner = Cleaner(tree)
    with caplog.at_level(logging.INFO, logger="archive.extract.cleanup"):
        cleaner.site_rules(["//div[contains(@class, 'main-col')]", ".promo-box"])
    assert all(s in tree.text_content() for s in SENTENCES)
    assert "عرض خاص" not in tree.text_content()
    assert "main-col" in caplog.text


def test_slides_of_a_gallery_article_are_kept_together():
    slides = "".join(f'<div class="gallery--slide">{f"<p>{s}</p>"}</div>' for s in SENTENCES)
    body = f"<article><h1>{TITLE}</h1>{slides}</article>"
    record = extract_article(page(body), "https://news.example/gallery")
    assert_whole(record.text)


def test_a_linked_name_inside_a_sentence_stays():
    sentence = "والتقى رئيس الحكومة وفدا من البنك الدولي لبحث تمويل محطات الطاقة الشمسية."
    linked = sentence.replace(
        "البنك الدولي", '<span class="link"><a href="/t">البنك الدولي</a></span>'
    )
    body = f"<article><h1>{TITLE}</h1>{paragraphs()}<p>{linked}</p></article>"
    record = extract_article(page(body), "https://news.example/linked")
    assert sentence in record.text


def test_the_articles_own_header_keeps_its_standfirst():
    body = f"""<header class="site-header"><a href="/">الرئيسية</a> القائمة</header>
      <article><header class="articlehead"><h1>{TITLE}</h1>
      <p class="teaser-text">خطة من ثلاث مراحل تبدأ الشهر المقبل وتشمل كل المحافظات.</p></header>
      {paragraphs()}</article>"""
    record = extract_article(page(body), "https://news.example/head")
    assert "خطة من ثلاث مراحل" in record.text
    assert "الرئيسية" not in record.text


def test_a_live_blogs_commentary_is_the_article_and_readers_comments_are_not():
    entries = "".join(f'<div class="live-match-comment"><p>{s}</p></div>' for s in SENTENCES)
    body = (
        f"<article><h1>{TITLE}</h1><div class='live-match-comments'>{entries}</div>"
        "<div class='comments'><p>تعليق قارئ: شكرا على الخبر</p></div></article>"
    )
    record = extract_article(page(body), "https://news.example/live")
    assert_whole(record.text)
    assert "تعليق قارئ" not in record.text


def test_an_article_element_that_is_not_the_article_may_go():
    cards = '<article class="teaser-card"><h3>خبر ذو صلة</h3><p>ملخص قصير</p></article>' * 3
    body = f"<main><h1>{TITLE}</h1>{paragraphs()}</main><section>{cards}</section>"
    tree = html.document_fromstring(page(body).decode())
    Cleaner(tree).site_rules(["//article[contains(@class, 'teaser-card')]"])
    assert "خبر ذو صلة" not in tree.text_content()
    assert all(s in tree.text_content() for s in SENTENCES)


@pytest.mark.parametrize("body", [b"", b"   \n", b"<!-- nothing -->"])
def test_an_empty_page_gives_an_empty_record(body):
    record = extract_article(body, "https://news.example/empty")
    assert record.text is None and record.title is None and record.word_count == 0


@pytest.mark.parametrize(
    ("lang", "code"), [("ar", "ar"), ("ar-LB", "ar"), ("ar_SA", "ar"), ("x", None)]
)
def test_the_html_lang_is_read_whatever_the_separator(lang, code):
    from archive.extract.metadata import read_metadata

    tree = html.document_fromstring(f'<html lang="{lang}"><body><p>x</p></body></html>')
    assert read_metadata(tree, "https://news.example/").html_lang == code


OTHER_STORY = [
    "وفي خبر آخر، افتتح المهرجان السينمائي الدولي دورته الجديدة بمشاركة أفلام من ثلاثين بلدا.",
    "وتتنافس على الجائزة الكبرى أفلام روائية ووثائقية طويلة من المنطقة ومن خارجها هذا العام.",
    "وقالت إدارة المهرجان إن عدد التذاكر المبيعة تجاوز ما بيع في الدورة السابقة بأكملها.",
    "ويستمر المهرجان عشرة أيام تعرض خلالها الأفلام في خمس صالات في وسط المدينة القديمة.",
    "وتختتم الدورة بحفل توزيع الجوائز بحضور لجنة التحكيم وعدد من النقاد والمخرجين.",
]


def test_the_next_story_of_an_infinite_scroll_goes():
    # News sites append the next article under the one asked for, each in its <article>.
    nxt = "".join(f"<p>{s}</p>" for s in OTHER_STORY * 2)
    body = (
        f'<article class="article-entity"><h1>{TITLE}</h1>{paragraphs()}</article>'
        f'<article class="article-entity second-article"><h1>مهرجان السينما يفتتح دورته</h1>'
        f"{nxt}</article>"
    )
    record = extract_article(page(body), "https://news.example/scroll")
    assert_whole(record.text)
    assert not any(s in record.text for s in OTHER_STORY)


def test_a_title_in_a_cover_block_does_not_make_it_the_story():
    # The title sits in a small <article> (a cover), the text in another one.
    body = (
        f'<article class="cover"><h1>{TITLE}</h1><span>حلقة 3</span></article>'
        f'<article class="description">{paragraphs()}</article>'
    )
    record = extract_article(page(body), "https://news.example/cover")
    assert_whole(record.text)


def test_a_teaser_card_linking_to_the_same_story_is_not_taken_for_its_title():
    # A "trending" list above the article links to this very story: its <h3> carries
    # the title too, but the page's own heading is the <h1>.
    card = (
        '<ol class="list-widget__content"><li><article class="article-card">'
        f'<a href="/this-story"><h3 class="article-card__headline">{TITLE}</h3></a>'
        "</article></li></ol>"
    )
    body = f"<aside>{card}</aside><article><h1>{TITLE}</h1>{paragraphs()}</article>"
    tree = html.document_fromstring(page(body).decode())
    from archive.extract.article import title_headings

    headings = title_headings(tree, TITLE, set())
    assert [h.tag for h in headings] == ["h1", "h3"]
    record = extract_article(page(body), "https://news.example/card")
    assert_whole(record.text)


def test_an_inline_quotation_stays_in_its_sentence():
    quoted = "إن الخطة ستنهي أزمة الكهرباء خلال عامين"
    sentence = f"وقال الوزير <q>{quoted}</q> في ختام المؤتمر الصحافي أمس."
    body = f"<article><h1>{TITLE}</h1>{paragraphs()}<p>{sentence}</p></article>"
    record = extract_article(page(body), "https://news.example/q")
    assert quoted in record.text


def test_replies_quoted_through_a_long_article_are_not_pull_quotes():
    # An essay quoting readers' replies: each reply's words turn up somewhere in the
    # essay, but none restates a paragraph of it.
    essay = [
        "وزارة الطاقة أعلنت خطة للكهرباء، وكتب كثيرون عنها في الأيام الماضية بحماسة كبيرة.",
        "الحكومة تقول إن التمويل جاهز، لكن مجلس النواب لم يناقش التفاصيل بعد في أي جلسة.",
        "المواطنون يدفعون فواتير مرتين منذ سنوات، مرة للدولة ومرة لأصحاب المولدات الخاصة.",
        "الهيئات الاقتصادية رحبت بالخطة، والقطاع الخاص يريد دورا في تنفيذ المشاريع الكبرى.",
        "الشبكة القديمة تحتاج إصلاحا شاملا، والفواتير المتأخرة تراكمت على مدى عقد كامل.",
        "المراقبون يرون أن نجاح الخطة مرهون بالإصلاح الحقيقي وليس بالوعود المتكررة فقط.",
    ]
    reply = "<blockquote><p>الحكومة رحبت بالإصلاح لكن المواطنون يدفعون الفواتير للمولدات</p></blockquote>"
    body = f"<article><h1>{TITLE}</h1>" + "".join(f"<p>{s}</p>" for s in essay) + reply
    body += "</article>"
    record = extract_article(page(body), "https://news.example/replies")
    assert "الحكومة رحبت بالإصلاح" in record.text


def test_a_pull_quote_restating_one_paragraph_goes():
    pull = "<blockquote class='pq'><p>الخطة تبدأ مطلع الشهر المقبل وتستمر عامين كاملين كما قال الوزير</p></blockquote>"
    body = f"<article><h1>{TITLE}</h1>{paragraphs()}{pull}</article>"
    record = extract_article(page(body), "https://news.example/pull")
    assert_whole(record.text)
    assert "كما قال الوزير" not in record.text


_TIE_PAGE = """<html><body><article><h1>Solar plan</h1>
<p>{a}</p><p>Unrelated filler sentence about weather patterns nobody quoted here.</p>
<p>{a}</p><p>Another filler line about trains, harbours and distant mountains.</p>
<p>{c}</p><p>Closing remarks on budgets, councils and regional elections today.</p>
<blockquote><p>{quote}</p></blockquote></article></body></html>"""


def test_the_pull_quote_test_gives_the_same_answer_in_every_process():
    # Two blocks tie as the quote's nearest; which one counts must not depend on the
    # order a set of words is iterated in (it differs between processes: the crawl's
    # workers and reextract must extract a page as the crawl process would).
    page = _TIE_PAGE.format(
        a="alpha bravo charlie appear together in this paragraph",
        c="delta foxtrot golf appear together in that paragraph",
        quote="alpha bravo charlie delta foxtrot golf hotel india",
    )
    code = (
        "import sys; from archive.extract.article import extract_article;"
        "print(extract_article(sys.stdin.buffer.read(), 'https://a.example/x').text)"
    )
    texts = {
        subprocess.run(
            [sys.executable, "-c", code],
            input=page.encode(),
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            check=True,
        ).stdout
        for seed in range(8)
    }
    assert len(texts) == 1, texts


def test_the_lead_picture_is_not_taken_for_the_standfirst():
    # "lead-asset" and "lead-art" name the picture at the top: its caption is not a
    # standfirst to print above the text. The standfirst after it still is one.
    caption = "صورة أرشيفية لمحطة توليد الكهرباء في الزهراني جنوب لبنان"
    standfirst = "خطة من ثلاث مراحل تبدأ الشهر المقبل وتشمل كل المحافظات."
    body = f"""<article><h1>{TITLE}</h1>
      <div class="lead-asset"><figure><img src="/p.jpg" alt="">
        <figcaption class="lead-caption">{caption}</figcaption></figure></div>
      <p class="standfirst">{standfirst}</p>{paragraphs()}</article>"""
    record = extract_article(page(body), "https://news.example/lead-art")
    assert record.text.startswith(standfirst)
    assert caption not in record.text.split("\n\n")[0]


def test_markup_the_page_never_shows_goes():
    hidden = [
        "<div hidden><p>نسخة قديمة من الخبر لم تعد معروضة على الصفحة</p></div>",
        '<div style="color: red; display:none"><p>نص مخفي بتنسيق مباشر على العنصر</p></div>',
        '<p style="visibility: hidden">سطر مخفي لا يراه القارئ أبدا</p>',
        '<span aria-hidden="true">عداد المشاهدات 1234</span>',
    ]
    body = f"<article><h1>{TITLE}</h1>{paragraphs()}{''.join(hidden)}</article>"
    record = extract_article(page(body), "https://news.example/hidden")
    assert_whole(record.text)
    for phrase in ("نسخة قديمة", "نص مخفي", "سطر مخفي", "عداد المشاهدات"):
        assert phrase not in record.text


def test_the_article_stays_when_the_page_hides_it_until_scripts_run():
    # A long aria-hidden layer (the page behind a consent dialog), and a body a script
    # reveals: the article guard keeps both.
    body = (
        f'<div aria-hidden="true"><h1>{TITLE}</h1>{paragraphs()}</div>'
        '<div class="cookie-modal"><p>نستخدم ملفات تعريف الارتباط لتحسين تجربتك</p></div>'
    )
    record = extract_article(page(body), "https://news.example/behind-dialog")
    assert_whole(record.text)
    assert "ملفات تعريف الارتباط" not in record.text
    body = f'<h1>{TITLE}</h1><div class="article-body" style="display: none">{paragraphs()}</div>'
    assert_whole(extract_article(page(body), "https://news.example/revealed").text)


def test_a_read_also_line_goes_and_a_linked_sentence_stays():
    other = "وزير المالية يعرض موازنة العام المقبل على الحكومة"
    cited = "تقرير البنك الدولي عن قطاع الكهرباء في لبنان"
    sentence = f'وكان <a href="https://worldbank.example/r">{cited}</a> قد حذر من الانهيار.'
    lines = [
        f'<p><strong>اقرأ أيضا: <a href="/news/2">{other}</a></strong></p>',
        f'<p>MORE: <a href="https://news.example/news/3">{other} اليوم</a></p>',
        f"<p>{sentence}</p>",
    ]
    body = f"<article><h1>{TITLE}</h1>{paragraphs()}{''.join(lines)}</article>"
    record = extract_article(page(body), "https://news.example/also")
    assert_whole(record.text)
    assert other not in record.text
    assert cited in record.text
