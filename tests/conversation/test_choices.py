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


def test_a_bare_product_name_picks_the_only_item_it_names() -> None:
    items = [Choice("Skateboard maple 34 inch graphic", "sk"), Choice("Desk Lamp white high", "dl")]
    assert match_choices("the skateboard", items, many=False).values == ["sk"]
    assert match_choices("the skateboard and the lamp", items, many=True).values == ["sk", "dl"]


def test_labels_may_use_the_procedures_names() -> None:
    slot = SlotSpec(type="choice", options_from="methods", option_label="{{ kind }}{% if id == original %} "
                    "(original payment){% endif %}", option_value="id")
    choices = choices_for(slot, {"methods": [{"id": "p1", "kind": "paypal"}, {"id": "g1", "kind": "gift card"}],
                                 "original": "p1"})
    assert [c.label for c in choices] == ["paypal (original payment)", "gift card"]
    assert match_choices("the original payment please", choices, many=False).values == ["p1"]


def test_commas_inside_one_description_do_not_pick_another_item() -> None:
    items = [Choice("Bookshelf glass black 3 ft", "bs"), Choice("Sneakers black size 9 leather", "sn"),
             Choice("Desk lamp white shade", "dl")]
    assert match_choices("I want the bookshelf (glass, black, 3 ft)", items, many=True).values == ["bs"]
    assert match_choices("the bookshelf, black, and the sneakers", items, many=True).values == ["bs", "sn"]
