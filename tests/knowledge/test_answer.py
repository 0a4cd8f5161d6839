from __future__ import annotations

from helpline.conversation.ports import KnowledgeHit
from helpline.knowledge import best_answer, trim_answer
from helpline.knowledge.answer import covers_question, uncovered_words
from helpline.knowledge.articles import Article, parse_article

TEXT = (
    "We refund to your **original payment method** within 5–7 business days of the item arriving "
    "back at our [warehouse](https://example.com/wh). You'll get an email when we've issued it, e.g. "
    "when the parcel is scanned. Your bank may take a few extra days to show it. Standard shipping "
    "is $4.99. This fifth sentence must not appear."
)


def _hit(text: str, score: float = 0.8) -> KnowledgeHit:
    return KnowledgeHit("returns-and-refunds", "Returns and refunds", "How long does a refund take?", text, score)


def test_best_answer_trims_at_sentence_boundary_and_names_the_article() -> None:
    answer = best_answer([_hit(TEXT), _hit("Other text.", 0.3)])
    assert answer is not None
    assert answer.text == (
        "We refund to your original payment method within 5–7 business days of the item arriving back at "
        "our warehouse. You'll get an email when we've issued it, e.g. when the parcel is scanned. Your "
        "bank may take a few extra days to show it."
    )
    assert (answer.article_id, answer.article_title) == ("returns-and-refunds", "Returns and refunds")
    assert answer.section == "How long does a refund take?"
    assert answer.confidence == 0.8


def test_answer_is_extracted_not_invented() -> None:
    answer = best_answer([_hit("## Heading\n- Standard takes 3–5 days\n- *Express* takes 1–2 days\n")])
    assert answer is not None
    assert answer.text == "Heading. Standard takes 3–5 days. Express takes 1–2 days."


def test_character_limit_keeps_whole_sentences() -> None:
    sentences = [f"Sentence number {i} has some filler words to make it longer than usual." for i in range(3)]
    long_first = "A" * 330 + " end. " + " ".join(sentences)
    text = trim_answer(long_first, max_chars=450)
    assert text.endswith(".") and len(text) <= 450
    assert text.count("Sentence") == 1


def test_one_huge_sentence_is_cut_at_a_word() -> None:
    text = trim_answer("word " * 200)
    assert len(text) <= 451 and text.endswith("…")


def test_no_hits_or_low_confidence_gives_no_answer() -> None:
    assert best_answer([]) is None
    assert best_answer([_hit(TEXT, 0.2)], min_confidence=0.5) is None


# --- an amount asked for, and words the article says otherwise -----------------------------------------------

_DESCALING = ("Descale the kettle every 4 weeks in hard-water areas. Use one sachet of descaler. Fill it to the "
              "MAX line. Pour in the solution, boil it, and let it stand for 30 minutes before you rinse it out.")
_KETTLE = Article(
    id="kettle", title="Electric Kettle", tags=("kettle", "boiling"), audience="customer",
    body=("The kettle holds 1.5 litres and costs $60.\n\n"
          "## Keeping water hot\nTurn the dial to keep-warm. The kettle holds the temperature for up to 45 minutes.\n\n"
          f"## Descaling\n{_DESCALING}\n"),
)


def _kettle_hit(section: str, text: str) -> KnowledgeHit:
    return KnowledgeHit("kettle", "Electric Kettle", section, text, 0.9)


def test_a_how_long_question_is_answered_with_the_sentence_that_states_a_length_of_time() -> None:
    # retrieval found the descaling section by its heading; its first three sentences state a frequency only
    hit = _kettle_hit("Descaling", _DESCALING)
    answer = best_answer([hit], articles={"kettle": _KETTLE}, question="how long should the descaler stand?")
    assert answer is not None
    assert answer.text.startswith("Pour in the solution") and "30 minutes" in answer.text
    often = best_answer([hit], articles={"kettle": _KETTLE}, question="how often do I need to descale it")
    assert often is not None and often.text.startswith("Descale the kettle every 4 weeks")


def test_a_duration_in_another_section_that_fits_the_question_better_is_the_answer() -> None:
    hit = _kettle_hit("Descaling", _DESCALING)
    answer = best_answer([hit], articles={"kettle": _KETTLE}, question="How long will keep-warm hold the water?")
    assert answer is not None
    assert answer.section == "Keeping water hot" and "45 minutes" in answer.text


def test_a_question_asking_for_no_amount_keeps_the_retrieved_passage() -> None:
    hit = _kettle_hit("Keeping water hot", "Turn the dial to keep-warm. The kettle holds the temperature for up to "
                      "45 minutes.")
    answer = best_answer([hit], articles={"kettle": _KETTLE}, question="how do I switch on keep-warm?")
    assert answer is not None and answer.text.startswith("Turn the dial")


def test_coverage_accepts_a_near_synonym_and_the_rest_of_the_article() -> None:
    hit = _kettle_hit("Keeping water hot", "Turn the dial to keep-warm. The kettle holds the temperature for up to "
                      "45 minutes.")
    question = "does the boiling kettle stay heated for long?"  # "heated" ~ "hot", "boiling" is a tag
    assert not covers_question(question, [hit])
    assert covers_question(question, [hit], articles={"kettle": _KETTLE})
    # a question about something the article never mentions is still not covered by it
    assert not covers_question("do you sell replacement glass teapots?", [hit], articles={"kettle": _KETTLE})


def test_a_later_sentence_that_speaks_of_the_question_is_quoted_instead_of_the_opening() -> None:
    passage = ("Open the app and choose Account > Close account. We email you to confirm. Closing takes effect at "
               "once. Loyalty points left on a closed account expire after 90 days.")
    hit = KnowledgeHit("accounts", "Your account", "Closing your account", passage, 0.9)
    answer = best_answer([hit], question="what happens to my loyalty points if I close my account?")
    assert answer is not None and answer.text.startswith("Loyalty points left on a closed account")
    # a question the opening already speaks to keeps the opening
    opening = best_answer([hit], question="where in the app do I close my account?")
    assert opening is not None and opening.text.startswith("Open the app")


def test_a_hyphenated_length_of_time_answers_a_how_long_question() -> None:
    # "a 2-year warranty" states a length of time; the lead's price sentence does not
    article = Article(id="toaster", title="Toaster", body="## Price and colours\nThe Toaster costs $40 and comes in "
                      "red.\n\n## Warranty\nThe Toaster has a 3-year warranty covering faults.", tags=(),
                      audience="customer")
    hit = KnowledgeHit("toaster", "Toaster", "Price and colours", "The Toaster costs $40 and comes in red.", 0.9)
    answer = best_answer([hit], articles={"toaster": article}, question="how long is the toaster guaranteed for?")
    assert answer is not None and "3-year warranty" in answer.text


def test_a_quoted_yes_or_no_does_not_answer_a_question_that_is_not_yes_or_no() -> None:
    hit = KnowledgeHit("gift-cards", "Gift cards", "Do they expire?", "No, gift cards are valid for 5 years.", 0.9)
    answer = best_answer([hit], question="what's the expiry on gift cards")
    assert answer is not None and answer.text == "Gift cards are valid for 5 years."
    answer = best_answer([hit], question="do gift cards expire?")
    assert answer is not None and answer.text.startswith("No, gift cards")


def test_a_section_headed_by_the_same_kind_of_question_states_the_amount_asked() -> None:
    # both sections state a length of time and name the service; the one headed "how long ...?" is the answer
    body = ("We post parcels from Leeds.\n\n## How long does delivery take?\nFirst class post takes 2 working days."
            "\n\n## Do you post abroad?\nNot yet. We only post within the UK (first class post to the islands "
            "can take 6 working days).")
    article = Article(id="post", title="Posting", body=body, tags=(), audience="customer")
    hit = KnowledgeHit("post", "Posting", "Do you post abroad?", "Not yet. We only post within the UK (first class "
                       "post to the islands can take 6 working days).", 0.9)
    answer = best_answer([hit], articles={"post": article}, question="how quick is first class post")
    assert answer is not None
    assert answer.section == "How long does delivery take?" and answer.text.startswith("First class post takes 2")


def test_coverage_ignores_a_callers_hedges_and_reads_other_forms_of_a_word() -> None:
    hit = KnowledgeHit("grinder-jams", "Troubleshooting: grinder jams", "", "If your Burr Grinder hums but doesn't "
                       "grind, or grounds won't come out, it is most likely jammed.", 0.95)
    assert covers_question("the grinder just makes a humming noise lately, any tips?", [hit])
    assert not covers_question("do you sell grinder capsules or pods?", [hit])


def test_a_how_long_question_in_a_callers_words_quotes_the_sentence_on_what_was_asked() -> None:
    # "send it back" asks about returning; the refund section shares only the article's title with it
    article = parse_article(
        "---\ntitle: Returns and refunds\n---\nYou can return anything within 30 days of delivery.\n\n"
        "## How long does a refund take?\nWe refund within 5 business days of the item arriving.\n",
        "returns.md",
    )
    hit = KnowledgeHit("returns", "Returns and refunds", "", "You can return anything within 30 days of delivery.",
                       0.9)
    answer = best_answer([hit], articles={"returns": article}, question="how many days have I got to send it back?")
    assert answer is not None and answer.text.startswith("You can return anything within 30 days")


def test_coverage_of_a_policy_question_naming_a_product_leaves_the_product_out() -> None:
    from helpline.knowledge.product_names import ProductNames

    hit = KnowledgeHit("price-match", "Pricing and price match", "Do you match other retailers' prices?",
                       "Yes: we match a lower price from another US retailer on the same item.", 0.9)
    question = "I saw the Espresso Pro cheaper on another site, would you match it?"
    products = ProductNames(["Espresso One", "Espresso Pro"])
    assert not covers_question(question, [hit])  # "espresso" is nowhere in the policy
    assert covers_question(question, [hit], products=products)  # the policy is about any product
    # an article about a product still has to speak of the product asked about
    mug = KnowledgeHit("mugs", "Travel Mug", "", "The Travel Mug keeps drinks hot for 6 hours.", 0.9)
    assert not covers_question("does the burr grinder keep drinks hot?", [mug],
                               products=ProductNames(["Burr Grinder", "Travel Mug"]))


def test_coverage_reads_a_phrase_as_its_word_and_a_hyphenated_word_joined() -> None:
    hit = _kettle_hit("Does the kettle connect to the app?", "No. The kettle has no Wi-Fi; you can't connect it to "
                      "the app.")
    assert covers_question("can I hook the kettle up to my wifi?", [hit])
    assert not covers_question("can I hook the kettle up to my stereo speakers?", [hit])


def test_coverage_reads_a_quantity_said_in_words_as_the_article_writes_it() -> None:
    hit = KnowledgeHit("subscription", "Beans subscription", "Changing plan",
                       "You can switch between the 500g and 1kg plan at any time in the app.", 0.6)
    assert covers_question("can i switch my subscription from the five hundred gram to the one kilo one", [hit])
    # a unit the passage never writes is still asked about
    assert not covers_question("can i switch my subscription to the two litre tins of syrup", [hit])


def test_coverage_ignores_function_words_and_spoken_contractions() -> None:
    hit = KnowledgeHit("firmware", "Firmware updates", "How do I update my machine?",
                       "When an update is available the app shows a banner. Updates install automatically overnight "
                       "on the machine.", 0.6)
    assert covers_question("do i need to update the firmware on the machine myself or does it do it automatically, "
                           "i don't wanna break it", [hit])


def test_a_very_sure_hit_is_refused_only_when_half_the_question_is_elsewhere() -> None:
    passage = 'Enter the code at checkout under "Gift card or discount code".'
    question = "i got a gift card for my birthday and i'm not sure how to use it online, where do i put the code"
    sure = KnowledgeHit("gift-cards", "Gift cards", "Redeeming a gift card", passage, 0.85)
    unsure = KnowledgeHit("gift-cards", "Gift cards", "Redeeming a gift card", passage, 0.6)
    assert covers_question(question, [sure])  # "birthday" and "online" are the caller's circumstances
    assert not covers_question(question, [unsure])  # an unsure hit lacking two of five words is a near miss
    # however sure, a question half of whose words the passage never speaks of is not answered by it
    assert not covers_question("do you sell gift card holders in leather", [sure])


def test_a_country_is_covered_by_a_passage_on_delivering_abroad() -> None:
    hit = KnowledgeHit("delivery", "Delivery", "Do you deliver overseas?", "No, we only deliver to UK addresses.", 0.7)
    assert covers_question("could you get a parcel out to my cousin in australia or new zealand", [hit])
    assert covers_question("is it only inside the country you post to", [hit])
    # a country is no word of a passage that never speaks of abroad
    kettle = KnowledgeHit("kettle", "Smart Kettle", "Temperature", "Set the kettle from 40 to 100 degrees.", 0.7)
    assert not covers_question("is the kettle's plug right for sockets in portugal and brazil", [kettle])


def test_a_nouns_possessive_is_the_noun_and_a_contraction_no_word() -> None:
    hit = KnowledgeHit("frother", "Milk Frother", "Cleaning", "Rinse the whisk after each use.", 0.7)
    words, missing = uncovered_words("the whisk's wobbly and it won't froth", [hit])
    assert words == {"whisk", "wobbly", "froth"}  # "whisk's" is the whisk; "won't" is no topic word
    assert missing == ["wobbly"]  # "froth" is the frother's


def test_coverage_reads_the_quoted_article_not_the_other_hits() -> None:
    kettle = KnowledgeHit("kettle", "Smart Kettle", "", "A gooseneck kettle in black, white or sage.", 0.7)
    price_match = KnowledgeHit("price-match", "Price match", "", "We match a lower price from a retailer.", 0.01)
    # "match" is the price-match article's word, not the kettle's: a toaster "to match" is no kettle question
    assert not covers_question("do you have a toaster to match the sage kettle", [kettle, price_match])


def test_a_callers_description_of_how_a_thing_behaves_is_no_other_topic() -> None:
    hit = KnowledgeHit("grinder", "Grinder jams", "Clearing a jam", "Unplug the grinder, empty the hopper and brush "
                       "the burrs clean.", 0.6)
    # "whirrs" and "judders" say how the jammed grinder behaves, the rest of the question is the passage's
    assert covers_question("my grinder's hopper keeps whirring and juddering", [hit])
    assert covers_question("the grinder just whirrs and judders, what do I do with the burrs", [hit])
    # things the passage never speaks of are another topic, however the question is put
    assert not covers_question("does the grinder come with a hopper extension and a dosing funnel", [hit])


def test_which_product_said_by_how_it_compares_is_no_topic_of_the_question() -> None:
    hit = KnowledgeHit("toasters", "Toasters", "Warranty", "Both toasters have a 2-year warranty covering faults.", 0.7)
    assert covers_question("how long is the warranty on the cheaper one, I'm deciding", [hit])
    assert covers_question("what's the warranty on the more expensive model?", [hit])
    # a comparison asked about is a topic: the passage says nothing of which is cheaper
    assert not covers_question("which toaster is cheaper to run and quieter?", [hit])
