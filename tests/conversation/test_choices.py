from helpline.conversation.choices import Choice, choices_for, coverage, match_choices
from helpline.pack.models import SlotSpec

ITEMS = [
    {"name": "Gaming Mouse", "item_id": "111", "options": {"color": "black", "sensor type": "optical"}},
    {"name": "Patio Umbrella", "item_id": "222", "options": {"size": "7 ft", "color": "red"}},
    {"name": "Desk Lamp", "item_id": "333", "options": {"color": "white", "brightness": "high"}},
]
SLOT = SlotSpec(type="choice", options_from="order.items", option_label="{{ name }} {{ options.values() | join(' ') }}",
                option_value="item_id", many=True)


def test_dynamic_options_are_labelled_and_valued_from_data() -> None:
    choices = choices_for(SLOT, {"order": {"items": ITEMS}})
    assert choices[0] == Choice("Gaming Mouse black optical", "111")


def test_several_items_named_in_one_message() -> None:
    choices = choices_for(SLOT, {"order": {"items": ITEMS}})
    match = match_choices("I want to return the black optical mouse and the desk lamp", choices, many=True)
    assert match.values == ["111", "333"]


def test_variants_that_differ_in_one_option_are_told_apart() -> None:
    variants = [Choice("750ml glass black", "a"), Choice("1000ml glass black", "b"), Choice("500ml steel black", "c")]
    assert match_choices("the 750ml black glass one", variants, many=False).values == ["a"]
    assert coverage(["750ml", "black", "glass"], "1000ml glass black") < 1.0


def test_equally_good_candidates_are_ambiguous_not_guessed() -> None:
    variants = [Choice("size 8 leather", "a"), Choice("size 9 leather", "b")]
    match = match_choices("the leather ones, any size", variants, many=False)
    assert match.values == [] and {c.value for c in match.ambiguous} == {"a", "b"}


def test_unrelated_words_match_nothing() -> None:
    choices = [Choice("no longer needed", "no longer needed"), Choice("ordered by mistake", "ordered by mistake")]
    assert match_choices("what is the weather", choices, many=False).values == []
    assert match_choices("I ordered it by mistake", choices, many=False).values == ["ordered by mistake"]
