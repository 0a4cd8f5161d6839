"""Embedded wording: the pack's reply templates over built-in defaults, never the same line twice."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from helpline.pack.expressions import render

DEFAULT_REPLIES: dict[str, list[str]] = {
    "greeting": ["Hello, you're through to {{ business.name }}. I'm {{ persona.name }}. How can I help?"],
    "anything_else": ["Is there anything else I can help you with?", "Can I help with anything else today?"],
    "goodbye": ["Thank you for contacting {{ business.name }}. Goodbye!",
                "Thanks for getting in touch. Take care!"],
    "didnt_understand": ["Sorry, I didn't quite follow that. Could you put it another way?",
                         "I'm not sure I understood. Could you rephrase that for me?"],
    "ask_rephrase": ["Could you tell me a little more about what you need?"],
    "offer_human": ["I don't want to keep you going round in circles. Would you like me to pass you to a "
                    "member of our team?"],
    "escalating": ["I'm passing you to our {{ tier.description or tier.name }} team now, with a summary so "
                   "you won't need to repeat yourself."],
    "out_of_hours_escalation": ["Our team is away right now. I've booked a callback for you: someone will "
                                "call you by {{ due }}."],
    "out_of_hours_note": ["Our team is away right now, but I can help with most things, and I can book a "
                          "callback for anything I can't."],
    "verify_intro": ["Before I can look at your account, I need to confirm who you are. What's the email "
                     "address on your account? Or give me your full name and ZIP code.",
                     "First I need to verify your identity: could you give me your account email, or your "
                     "full name and ZIP code?"],
    "verify_need_more": ["Thanks. And your {{ missing }}?"],
    "verify_failed": ["I'm sorry, I couldn't find an account matching those details. Could you check them "
                      "and try again? An email address, or full name and ZIP code, both work."],
    "verify_locked": ["I'm sorry, I can't verify your identity with those details, so I can't access the "
                      "account."],
    "verified": ["Thanks, {{ customer.first_name or customer.name }}, you're verified.",
                 "Thank you, {{ customer.first_name or customer.name }}. I've found your account."],
    "other_customer_refused": ["I'm sorry, I can only help with the account you've verified in this "
                               "conversation, so I can't look into that one."],
    "apology": ["I'm sorry about this."],
    "acknowledge_frustration": ["I'm really sorry, I can hear how frustrating this has been. Let me sort "
                                "it out for you.",
                                "I understand, and I'm sorry for the trouble. I'll do my best to fix this."],
    "confirm_needed": ["I need a clear yes or no before I make that change. Shall I go ahead?",
                       "Just to be safe: should I go ahead? Please say yes or no."],
    "kb_answer": ["{{ answer }} (from our article \"{{ title }}\")"],
    "kb_low_confidence": ["I'm not certain I have the right answer to that, and I don't want to guess. Could "
                          "you rephrase it, or would you like me to pass it to a colleague?"],
    "card_number_redacted": ["For your security, please don't share card numbers here. I've removed it "
                             "from our records."],
    "operation_failed": ["I'm sorry, I can't reach our systems to do that right now."],
    "incident_notice": ["Just so you know: {{ incident.message }}{% if incident.expected_fix %} We expect it "
                        "fixed by {{ incident.expected_fix }}.{% endif %}"],
    "recap": ["To recap: {{ summary }}.{% if ticket_number %} Your reference is {{ ticket_number }}.{% endif %}"],
    "silence_reprompt": ["Are you still there? Take your time.", "I'm still here whenever you're ready."],
    "silence_goodbye": ["I haven't heard from you, so I'll close this conversation. You can contact us any "
                        "time."],
    "out_of_scope": ["I'm afraid that's not something I can help with here. I can help with "
                     "{{ business.name }} orders, products and accounts.",
                     "Sorry, that's outside what I can help with. Is there something about your "
                     "{{ business.name }} account or order I can do?"],
    "which_one": ["Sorry, which one do you mean: {{ options | join(', or ') }}?"],
    "anything_to_add": ["Got it. Is there anything else to add, or is that everything?",
                        "Noted. Anything else, or is that all?"],
    "next_request": ["Next, your other request: {{ title | lower }}."],
    "resume": ["Now, back to your earlier request: {{ title | lower }}."],
    "handoff_unanswered": ["I'm sorry, nobody on the team could pick up just now. I've booked a callback"
                           "{% if phone %} to {{ phone }}{% endif %}: someone will call you by {{ due }}, with "
                           "everything we've covered."],
    "callback_booked": ["I've booked a callback{% if phone %} to {{ phone }}{% endif %}: we'll call you by "
                        "{{ due }}."],
    "need_phone_for_callback": ["What's the best phone number to call you back on?"],
    "yes_or_no": ["Sorry, was that a yes or a no?"],
    "declined_offer": ["No problem."],
    "no_procedure_steps": ["I've done all I can from here, so I'm passing this to a colleague."],
    "ignored_instruction": ["I can't change how I work, but I'm happy to help within our policies."],
    "message_too_long": ["That was a very long message, so I've only read the beginning of it."],
}


class TemplateWording:
    """Implements the Wording port with the pack's replies over DEFAULT_REPLIES."""

    def __init__(self, replies: Mapping[str, list[str]] | None = None):
        self.replies = {**DEFAULT_REPLIES, **(replies or {})}

    def variants(self, key: str) -> list[str]:
        return self.replies.get(key, [key])

    def render(self, key_or_template: str, facts: Mapping[str, Any]) -> str:
        return self.render_avoiding(key_or_template, facts, avoid=(), seed=0)

    def render_avoiding(
        self, key_or_template: str, facts: Mapping[str, Any], avoid: Collection[str], seed: int
    ) -> str:
        """Render a variant (rotating with `seed`) that is none of `avoid`, the lines said just before."""
        variants = self.variants(key_or_template)
        start = seed % len(variants)
        rendered = ""
        for offset in range(len(variants)):
            rendered = render(variants[(start + offset) % len(variants)], facts)
            if rendered not in avoid:
                return rendered
        return rendered
