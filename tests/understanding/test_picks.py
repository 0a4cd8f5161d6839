from helpline.understanding.picks import ordinal, picked_record

CHOICES = {
    "BB-10142": "BB-10142 (Tamper, House Blend beans; Friday 13 November 2026; shipped; $127.99)",
    "BB-10049": "BB-10049 (Travel Mug, Single Origin beans; Sunday 27 September 2026; delivered; $61.00)",
    "BB-10014": "BB-10014 (Single Origin beans, Water Filter 3-pack; Saturday 5 September 2026; delivered; $68.99)",
}


def test_a_record_is_picked_by_its_id_or_the_ids_last_digits() -> None:
    assert picked_record("BB-10049", CHOICES) == "BB-10049"
    assert picked_record("it's b b 10014", CHOICES) == "BB-10014"
    assert picked_record("the one ending 142", CHOICES) == "BB-10142"


def test_a_record_is_picked_by_its_place_in_the_list() -> None:
    assert picked_record("the second one", CHOICES) == "BB-10049"
    assert picked_record("the last one please", CHOICES) == "BB-10014"


def test_a_record_is_picked_by_a_word_only_its_description_has() -> None:
    assert picked_record("the one with the tamper", CHOICES) == "BB-10142"
    assert picked_record("the travel mug one", CHOICES) == "BB-10049"
    assert picked_record("the filters", CHOICES) == "BB-10014"  # a plural of the description's word
    assert picked_record("from November", CHOICES) == "BB-10142"


def test_nothing_is_picked_when_the_words_fit_several_or_none() -> None:
    assert picked_record("the one with the beans", CHOICES) is None  # every order has beans
    assert picked_record("the delivered one", CHOICES) is None  # two were delivered
    assert picked_record("what are your opening hours?", CHOICES) is None
    assert picked_record("what time do you open on a Saturday?", CHOICES) is None  # a question, not a pick
    assert picked_record("10", CHOICES) is None  # too short to be an id's digits


def test_ordinals_count_from_the_start_or_from_the_end() -> None:
    assert ordinal("the first one", 3) == 0
    assert ordinal("2", 3) == 1
    assert ordinal("the last", 3) == 2
    assert ordinal("the fifth", 3) is None
    assert ordinal("I think it was the first order I placed with you", 3) is None  # too long to be a pick
