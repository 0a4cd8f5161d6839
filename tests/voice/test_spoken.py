import pytest

from helpline.understanding.entities import EntityExtractor
from helpline.voice.spoken import normalize_spoken, spelled_letters, spoken_email, spoken_ids


@pytest.mark.parametrize(("said", "meant"), [
    ("I want to return order number four five six", "I want to return order number 456"),
    ("my order is b b one zero zero zero one", "my order is BB10001"),
    ("it's BB dash 10422", "it's BB-10422"),  # an id read back with its dash, said back the same way
    ("it is B as in bravo, B for boy, one zero zero zero one", "it is BB10001"),
    ("W two three seven eight one five six", "W2378156"),
    ("order number W 2 3 7 8 1 5 6", "order number W2378156"),
    ("bravo bravo one two three four five", "BB12345"),
    ("It is C dash one two three four", "It is C-1234"),
    ("B B dash one zero zero zero one", "BB-10001"),
    ("call me on five one two, five five five, oh one hundred", "call me on 5125550100"),
    ("my zip is seven eight seven oh one", "my zip is 78701"),
    ("double five seven", "557"),
    ("triple zero one", "0001"),
    ("it's 4-5-6", "it's 456"),
    ("Where is BB-10,001?", "Where is BB-10001?"),
    ("It was $1,234.50", "It was $1234.50"),
    ("pick 1, 2 or 3", "pick 1, 2 or 3"),
    ("twenty three dollars", "23 dollars"),
    ("five dollars please", "5 dollars please"),
    ("ninety nine cents", "99 cents"),
    ("one hundred and five", "105"),
    ("two thousand five hundred", "2500"),
    ("twenty twenty four", "2024"),
    ("March twenty third", "March 23rd"),
    ("at three thirty", "at 3:30"),
    ("three thirty pm", "3:30 pm"),
    ("my name is S M I T H", "my name is SMITH"),
    ("d a v e", "DAVE"),
])
def test_spoken_numbers_letters_and_ids(said: str, meant: str) -> None:
    assert normalize_spoken(said) == meant


@pytest.mark.parametrize("ordinary", [
    "I have a two year warranty",
    "one of them is broken",
    "the blue one and the red one",
    "oh I see",
    "I need two",
    "I want to order two bags and a mug",
    "I am at home",
    "the hundred",
    "Is the Burr Grinder in stock?",
    "I paid for it at the store",
    "A cup of coffee",
    "I dash off at 5 every day",
])
def test_ordinary_speech_is_left_alone(ordinary: str) -> None:
    assert normalize_spoken(ordinary) == ordinary


@pytest.mark.parametrize(("said", "meant"), [
    ("my email is john dot smith at example dot com", "my email is john.smith@example.com"),
    ("it is j o h n at gmail dot com", "it is john@gmail.com"),
    ("john.smith at example.com", "john.smith@example.com"),
    ("Maria underscore Garcia at example dot co dot uk", "maria_garcia@example.co.uk"),
    ("john dash smith at example dot com", "john-smith@example.com"),
    ("visit brightbean dot com", "visit brightbean.com"),
    ("already john@example.com", "already john@example.com"),
])
def test_spoken_emails(said: str, meant: str) -> None:
    assert normalize_spoken(said) == meant


@pytest.mark.parametrize("ordinary", [
    "one kilo bag",
    "can i go from the five hundred gram one up to the one kilo",  # the amount is rewritten, "one kilo" is not
    "I bought the golf one",
    "my name is Victor",
    "a kilo of beans",
])
def test_spelling_alphabet_words_in_a_sentence_stay_words(ordinary: str) -> None:
    assert normalize_spoken(ordinary) == ordinary.replace("five hundred", "500")


@pytest.mark.parametrize(("said", "meant"), [
    ("bravo bravo one two three", "BB123"),  # letters together
    ("B B dash one two three", "BB-123"),
    ("it is kilo one two three", "it is K123"),  # a letter leading an id's digits
    ("kilo dash one two", "K-12"),
    ("juliet oscar hotel november at example dot com", "john@example.com"),
])
def test_spelling_alphabet_words_among_spelled_items_are_letters(said: str, meant: str) -> None:
    assert normalize_spoken(said) == meant


def test_a_lone_spelling_alphabet_word_is_a_letter_when_the_caller_is_spelling() -> None:
    # the agent asked for an email or an id: "juliet" is the letter J
    assert normalize_spoken("juliet at example dot com", spelling=True) == "j@example.com"
    assert normalize_spoken("kilo", spelling=True) == "K"
    # in a sentence, the same words are a name
    assert normalize_spoken("juliet at example dot com") == "juliet@example.com"


@pytest.mark.parametrize(("said", "meant"), [
    ("Charlie twelve thirty four", "C1234"),  # an id read in pairs: a lone letter, then numbers
    ("Bravo. Bravo. 10014.", "BB10014."),  # spelled slowly: Whisper writes each pause as a full stop
    ("Bravo, bravo. One, zero, zero, one, four.", "BB10014."),
    ("Sorry, one moment. It is bravo bravo one zero zero one four.", "Sorry, one moment. It is BB10014."),
])
def test_an_id_spelled_when_the_agent_waits_for_one(said: str, meant: str) -> None:
    assert normalize_spoken(said, spelling=True) == meant


@pytest.mark.parametrize(("said", "meant"), [
    ("Bravo. Bravo. 10014.", "Bravo. Bravo. 10014."),  # a full stop ends a run, as a sentence's end
    ("Charlie twelve thirty four", "Charlie 1234"),  # a name, then an amount
])
def test_the_same_words_when_no_id_is_awaited(said: str, meant: str) -> None:
    assert normalize_spoken(said) == meant


def test_the_parts_work_alone() -> None:
    assert spelled_letters("b as in bravo") == "B"
    assert spelled_letters("B.B. one") == "B B one"
    assert spelled_letters("I paid for it") == "I paid for it"  # "for" not after a spelled letter of the word
    assert spoken_ids("five oh two") == "502"
    assert spoken_email("anna at example dot org") == "anna@example.org"
    assert normalize_spoken("") == ""


def test_the_entity_extractor_reads_what_normalisation_writes() -> None:
    extractor = EntityExtractor({"order_id": r"(?i)\bBB[- ]?\d{5}\b", "customer_id": r"(?i)\bC-?\d{4}\b"})
    entities = extractor.extract(normalize_spoken(
        "my order is b b one zero zero four two and my email is anna dot lee at example dot com"))
    found = {(e.type, e.value) for e in entities}
    assert ("order_id", "BB-10042") in found
    assert ("email", "anna.lee@example.com") in found
    customer = extractor.extract(normalize_spoken("my customer number is C as in Charlie one zero zero one"))
    assert ("customer_id", "C-1001") in {(e.type, e.value) for e in customer}
