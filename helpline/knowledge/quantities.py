"""Quantities as a caller says them and as an article writes them.

A caller says "the five hundred gram bag" or "the one kilo plan"; an article writes "500g" and "1kg". A number
written in digits is never a topic word of a question (the coverage check reads words of letters), so a number
said in words is none either, and a unit is spoken of by a passage that writes it as a symbol after a number.
The units are everyday measures, never one pack's vocabulary.
"""

from __future__ import annotations

import re

# A number a product's name may carry, said as a word ("Espresso One", "the espresso one"), and its digits.
DIGIT_WORDS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
               "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12"}

# Number words a recogniser writes for digits: none of them says what a question is about.
NUMBER_WORDS = frozenset(DIGIT_WORDS) | frozenset([
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty",
    "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "half", "quarter", "dozen",
])

# A unit said in words -> the symbols an article writes after a number for it.
_UNIT_SYMBOLS: dict[str, tuple[str, ...]] = {
    "gram": ("g",), "grams": ("g",), "gramme": ("g",), "grammes": ("g",),
    "kilo": ("kg",), "kilos": ("kg",), "kilogram": ("kg",), "kilograms": ("kg",), "kilogramme": ("kg",),
    "ounce": ("oz",), "ounces": ("oz",), "pound": ("lb", "lbs"), "pounds": ("lb", "lbs"),
    "litre": ("l",), "litres": ("l",), "liter": ("l",), "liters": ("l",),
    "millilitre": ("ml",), "millilitres": ("ml",), "milliliter": ("ml",), "milliliters": ("ml",),
    "inch": ("in",), "inches": ("in",), "millimetre": ("mm",), "millimetres": ("mm",), "millimeter": ("mm",),
    "millimeters": ("mm",), "centimetre": ("cm",), "centimetres": ("cm",), "centimeter": ("cm",),
    "centimeters": ("cm",), "watt": ("w",), "watts": ("w",), "dollar": ("$",), "dollars": ("$",),
    "percent": ("%",), "degree": ("°",), "degrees": ("°",),
}
_AMOUNT = re.compile(r"(\$)\s?\d|\d(?:[.,]\d+)?\s?(kg|g|oz|lbs|lb|ml|l|mm|cm|in|w|%|°)(?![a-z])", re.I)


def is_number_word(word: str) -> bool:
    return word.lower() in NUMBER_WORDS


def written_units(text: str) -> frozenset[str]:
    """The unit words whose symbols the text writes after (or, for "$", before) a number: "500g or 1kg" ->
    gram, kilo and their other forms."""
    symbols = {(m.group(1) or m.group(2)).lower() for m in _AMOUNT.finditer(text)}
    return frozenset(unit for unit, forms in _UNIT_SYMBOLS.items() if symbols & set(forms))
