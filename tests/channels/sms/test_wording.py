"""Segments counted as carriers count them, and replies shortened to fit without losing their point."""

from __future__ import annotations

from helpline.channels.sms.keywords import START_CONFIRMATION, STOP_CONFIRMATION, Keyword, help_reply, keyword_of
from helpline.channels.sms.segments import Encoding, count_segments
from helpline.channels.sms.wording import fit_reply


def test_gsm7_and_ucs2_segment_boundaries() -> None:
    assert count_segments("a" * 160).segments == 1
    assert count_segments("a" * 161).segments == 2 and count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3
    assert count_segments("€" * 80).segments == 1 and count_segments("€" * 81).segments == 2  # 2 septets each
    assert count_segments("Zürich café Ñoño").encoding is Encoding.GSM7  # all in the GSM alphabet
    polish = count_segments("Kraków")
    assert polish.encoding is Encoding.UCS2 and polish.segments == 1
    assert count_segments("ł" * 70).segments == 1 and count_segments("ł" * 71).segments == 2
    assert count_segments("😀" * 35).units == 70 and count_segments("😀" * 35).segments == 1  # surrogate pairs
    assert count_segments("😀" * 36).segments == 2
    # a part holds 67 units: 33 emoji (66) and the 34th starts the next part rather than being split,
    # so 100 emoji take 4 parts (naive 200 / 67 would say 3)
    assert count_segments("😀" * 100).segments == 4


def test_a_reply_that_fits_is_only_made_plain() -> None:
    reply = fit_reply(["Here's what our *Shipping* article says: Standard delivery takes 3–5 business days."])
    assert reply.text == "Here's what our Shipping article says: Standard delivery takes 3-5 business days."
    assert reply.encoding is Encoding.GSM7 and not reply.shortened


def test_a_long_answer_fits_two_segments_keeping_facts_and_the_question() -> None:
    replies = ["I'm sorry to hear that.",
               "Sure, your order BB-10001 shipped on 3 May with UPS and should arrive by Friday. The tracking "
               "number is 1Z999AA10123456784. You can also follow it in your account under Orders, where the "
               "latest scan is shown. If it has not arrived by Monday we send a replacement at no cost to you, "
               "and you do not need to return anything. Thanks for your patience!",
               "Is there anything else I can help with?"]
    reply = fit_reply(replies)
    assert reply.segments <= 2 and reply.shortened
    assert reply.text.startswith("Your order BB-10001 shipped on 3 May")  # the opener and apology went first
    assert "1Z999AA10123456784" in reply.text
    assert reply.text.endswith("Is there anything else I can help with?")
    assert "sorry" not in reply.text.lower() and "patience" not in reply.text
    assert "MORE" not in reply.text


def test_a_unicode_reply_is_counted_as_ucs2_and_fits() -> None:
    reply = fit_reply(["Zamówienie BB-10001 zostało anulowane.", "Zwrócimy 12,50 zł w ciągu 3–5 dni roboczych.",
                       "Środki wrócą na kartę, którą zapłacono.", "Potwierdzenie wyślemy e-mailem.",
                       "Czy mogę pomóc w czymś jeszcze?"])
    assert reply.encoding is Encoding.UCS2 and reply.segments <= 2 and reply.shortened
    assert count_segments(reply.text).units <= 2 * 67
    assert reply.text.startswith("Zamówienie BB-10001") and reply.text.endswith("jeszcze?")


def test_one_sentence_longer_than_the_budget_is_cut_at_a_word() -> None:
    reply = fit_reply("word " * 200, max_segments=1)
    assert reply.segments == 1 and reply.text.endswith("word...")


def test_keywords_are_whole_messages() -> None:
    assert keyword_of(" Stop. ", opted_out=False) == (Keyword.OPT_OUT, "STOP")
    assert keyword_of("please stop", opted_out=False) is None
    assert keyword_of("yes", opted_out=False) is None
    assert keyword_of("YES", opted_out=True) == (Keyword.OPT_IN, "YES")
    assert keyword_of("info", opted_out=False) == (Keyword.HELP, "INFO")
    assert keyword_of("", opted_out=False) is None
    for text in (STOP_CONFIRMATION, START_CONFIRMATION, help_reply("Brightbean Coffee Co.")):
        assert count_segments(text).segments <= 2
