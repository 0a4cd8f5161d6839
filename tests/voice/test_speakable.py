import pytest

from helpline.voice.speakable import cardinal, digits, speakable, spell, split_sentences, strip_markdown


@pytest.mark.parametrize(("written", "said"), [
    ("Your refund of $1,234.50 is on its way.",
     "Your refund of one thousand two hundred thirty-four dollars and fifty cents is on its way."),
    ("It costs $5.", "It costs five dollars."),
    ("It costs $0.99.", "It costs ninety-nine cents."),
    ("It costs $1.01.", "It costs one dollar and one cent."),
    ("That's £3.20 or €1.", "That's three pounds and twenty pence or one euro."),
    ("Order #W2378156 has shipped.", "Order W, two three seven, eight one five six has shipped."),
    ("Your order BB-10001 ships tomorrow.", "Your order B B, one zero zero zero one ships tomorrow."),
    ("Customer C-1001 is on file.", "Customer C, one zero zero one is on file."),
    # an id as the caller gave it: lower case, or with a thousands separator from the recogniser
    ("Is that bb-12345?", "Is that B B, one two three four five?"),
    ("I have bb12345 and c-1001.", "I have B B, one two three four five and C, one zero zero one."),
    ("Order BB-10,001, right?", "Order B B, one zero zero zero one, right?"),
    ("We sold 1,000 bags.", "We sold one thousand bags."),  # a number with a separator is no id
    ("Your customer id is C-1234.", "Your customer id is C, one two three four."),
    ("Call us on (512) 555-0100.", "Call us on five one two, five five five, zero one zero zero."),
    ("Call +1 512-555-0100.", "Call plus one, five one two, five five five, zero one zero zero."),
    ("Email john.smith@example.com for help.", "Email john dot smith at example dot com for help."),
    ("See https://www.brightbean.com/returns today.", "See www dot brightbean dot com slash returns today."),
    ("We open at 9:00 AM and close at 5:30pm.", "We open at nine a m and close at five thirty p m."),
    ("Come at 5 p.m. Thanks!", "Come at five p m. Thanks!"),
    ("It is 14:05 now.", "It is two oh five p m now."),
    ("Hours: Mon-Fri 9am-5pm.", "Hours: Monday to Friday nine a m to five p m."),
    ("It arrives on 2024-03-15.", "It arrives on March fifteenth, twenty twenty-four."),
    ("Delivered March 3rd.", "Delivered March third."),
    ("Delivered 15 March 2024.", "Delivered the fifteenth of March, twenty twenty-four."),
    ("You save 15% today, or 2.5% on subscriptions.",
     "You save fifteen percent today, or two point five percent on subscriptions."),
    ("It takes 3-5 business days.", "It takes three to five business days."),
    ("A 1kg bag.", "A one kilogram bag."),
    ("Your zip is 78701.", "Your zip is seven eight seven zero one."),
    ("The 2nd time, e.g. in 2023.", "The second time, for example in twenty twenty-three."),
    ("We have 3 colours & 12 sizes.", "We have three colours and twelve sizes."),
])
def test_what_a_voice_says(written: str, said: str) -> None:
    assert speakable(written) == said


def test_a_word_before_a_year_is_not_read_as_an_id() -> None:
    assert "M, I, D" not in speakable("Back in mid-2024.") and "M I D" not in speakable("Back in mid-2024.")


def test_markdown_becomes_sentences() -> None:
    text = "## Returns\n**Important:** read the [returns policy](https://x.example/r).\n\n- First item\n- Second `item`"
    assert strip_markdown(text) == "Returns. Important: read the returns policy. First item. Second item."
    assert speakable("*Really* __sure__?") == "Really sure?"
    assert "|" not in speakable("| size | price |\n|---|---|\n| 250g | $18 |")


def test_no_digits_or_symbols_are_left_for_the_voice_to_guess() -> None:
    reply = ("Your order **#W2378156** for $349.00 ships on 2026-08-24 (tracking 1Z814PDG3P2FERBGJ3); "
             "questions? support@brightbean.example.com or 512-555-0100.")
    said = speakable(reply)
    assert not any(ch.isdigit() for ch in said), said
    assert not set("#*$@()") & set(said), said


def test_number_words_are_us_style() -> None:
    assert cardinal(1234) == "one thousand two hundred thirty-four"
    assert cardinal(2_000_005) == "two million five"
    assert digits("5125550100") == "five one two, five five five, zero one zero zero"
    assert digits("2378156") == "two three seven, eight one five six"
    assert digits("10001") == "one zero zero zero one"


def test_spell_names_every_character() -> None:
    assert spell("BB-10001") == "B, B, dash, one, zero, zero, zero, one."
    assert spell("jo.lee@x.com") == "J, O, dot, L, E, E, at, X, dot, C, O, M."
    assert spell("Ann Lee") == "A, N, N. L, E, E."
    assert spell("") == ""


def test_spelling_an_email_says_a_well_known_domain_as_words() -> None:
    assert spell("jane.doe@gmail.com") == "J, A, N, E, dot, D, O, E, at gmail dot com."
    # a domain the caller may not know how to write is spelled like the rest
    assert spell("jo@brightbean.coffee").endswith("at, B, R, I, G, H, T, B, E, A, N, dot, C, O, F, F, E, E.")


def test_sentences_for_synthesis() -> None:
    assert split_sentences("Thanks for calling. How can I help? Bye!") == [
        "Thanks for calling.", "How can I help?", "Bye!"]
    long_first = ("Thanks for calling Brightbean Coffee, the home of the best beans in Austin and beyond today. "
                  "How can I help?")
    parts = split_sentences(long_first)
    assert parts[0] == "Thanks for calling Brightbean Coffee,"
    assert parts[1:] == ["the home of the best beans in Austin and beyond today.", "How can I help?"]
    assert split_sentences("") == []
