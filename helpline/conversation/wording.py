"""Embedded wording: the pack's reply templates over built-in defaults, never the same line twice.

Replies can be asked for in the customer's language: the pack's `templates/replies.<lang>.yaml` first,
then (for `language_not_supported` only) a built-in line in that language, else the pack's own wording.
"""

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
    "verify_paused": ["I'm sorry, I can't check identity details right now: there have been too many "
                      "unsuccessful attempts, so for your security I've paused checks for a while."],
    "step_up_code_sent": ["For your security, a change like this needs one more check. I've just sent a "
                          "6-digit code to {{ sent_to }} - please type it here when it arrives."],
    "step_up_enter_code": ["Please type the 6-digit code I sent to {{ sent_to }}. If it hasn't arrived, check "
                           "your spam folder, or I can pass you to a colleague."],
    "step_up_wrong_code": ["That code doesn't match, I'm afraid. Please check the latest email to {{ sent_to }} "
                           "and try again ({{ left }} {{ 'try' if left == 1 else 'tries' }} left)."],
    "step_up_expired": ["That code has expired, so I've sent a new one to {{ sent_to }}. Please type the new "
                        "code."],
    "step_up_verified": ["Thank you, that's confirmed."],
    "step_up_unavailable": ["I'm sorry, I can't make that change in this chat: it needs a security code sent to "
                            "the contact details on your account, and I can't send one right now. A colleague "
                            "can make the change for you."],
    "step_up_locked": ["I'm sorry, the security code couldn't be confirmed, so I can't make changes to the "
                       "account in this chat."],
    "verified": ["Thanks, {{ customer.first_name or customer.name }}, you're verified.",
                 "Thank you, {{ customer.first_name or customer.name }}. I've found your account."],
    "other_customer_refused": ["I'm sorry, I can only help with the account you've verified in this "
                               "conversation, so I can't look into that one."],
    "apology": ["I'm sorry about this."],
    "confirm_needed": ["I need a clear yes or no before I make that change. Shall I go ahead?",
                       "Just to be safe: should I go ahead? Please say yes or no."],
    "kb_answer": ["{{ answer }} (from our article \"{{ title }}\")"],
    # a customer writing in another language answered from the article in the pack's own (no variant in theirs)
    "kb_answer_other_language": ["{{ answer }} (from our article \"{{ title }}\", only written in "
                                 "{{ article_language }})"],
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
    # date / time slots (awaited_answers.py): a window where one value is asked, a value ruled out
    "ask_one_day": ["I need one particular day{% if window.start %} - which day between "
                    "{{ window.start | date }} and {{ window.end | date }} suits you best{% else %}. Which day "
                    "suits you best{% endif %}?"],
    "ask_one_time": ["What time exactly{% if window.start_time %}, between {{ window.start_time }} and "
                     "{{ window.end_time }}{% endif %}{% if window.day %} on {{ window.day | date }}{% endif %}?"],
    "ask_other_day": ["Noted, {% for d in ruled_out %}{{ d | date }}{% if not loop.last %}, {% endif %}"
                      "{% endfor %} won't work. Which other day would suit you?"],
    "ask_other_time": ["Noted, {% for t in ruled_out %}{{ t | date }}{% if not loop.last %}, {% endif %}"
                       "{% endfor %} won't work. What other time would suit you?"],
    "anything_to_add": ["Got it. Is there anything else to add, or is that everything?",
                        "Noted. Anything else, or is that all?"],
    "next_request": ["Next, your other request: {{ title | lower }}."],
    "resume": ["Now, back to your earlier request: {{ title | lower }}."],
    "handoff_unanswered": ["I'm sorry, nobody on the team could pick up just now. I've booked a callback"
                           "{% if phone %} to {{ phone }}{% endif %}: someone will call you by {{ due }}, with "
                           "everything we've covered."],
    "callback_booked": ["I've booked a callback{% if phone %} to {{ phone }}{% endif %}: we'll call you by "
                        "{{ due }}."],
    # a callback at the time the customer asked for (conversation/callback_times.py), in the team's hours
    "callback_at_requested_time": ["I've booked a callback{% if phone %} to {{ phone }}{% endif %} for {{ due }}, "
                                   "as you asked."],
    "callback_team_closed_then": ["Our team isn't available then ({{ asked }}), so I've booked your callback"
                                  "{% if phone %} to {{ phone }}{% endif %} for the earliest time they are: "
                                  "{{ due }}."],
    "out_of_hours_callback_at": ["Our team is away right now, so I've booked a callback for {{ due }}, as you "
                                 "asked."],
    # scoped incidents (conversation/incidents.py): planned work, and where the caller is
    "maintenance_notice": ["Just so you know: we have planned maintenance{% if incident.area %} in "
                           "{{ incident.area }}{% endif %}{% if incident.window_when %} {{ incident.window_when }} "
                           "from {{ incident.window_from }} to {{ incident.window_to }}{% endif %}. "
                           "{{ incident.message }}"],
    "ask_place_for_incident": ["So I can check whether a known problem in some areas affects you: which town are "
                               "you in, or what's your postcode?"],
    "need_phone_for_callback": ["What's the best phone number to call you back on?"],
    "yes_or_no": ["Sorry, was that a yes or a no?"],
    "declined_offer": ["No problem."],
    "no_procedure_steps": ["I've done all I can from here, so I'm passing this to a colleague."],
    "ignored_instruction": ["I can't change how I work, but I'm happy to help within our policies."],
    "message_too_long": ["That was a very long message, so I've only read the beginning of it."],
    "acknowledge_frustration": ["I'm really sorry{% if problem %} about the trouble with your {{ problem }}{% endif %}"
                                " - I can hear how frustrating this has been. Let me sort it out for you."],
    "offer_human_upset": ["I don't want to keep you waiting any longer on this. I can pass you straight to a person on "
                          "our team with everything you've told me - shall I do that? Or tell me what's still wrong "
                          "and I'll look at it now."],
    "did_you_mean": ["Just to check I've got this right - do you need help with \"{{ title }}\"?"],
    "did_you_mean_article": ["Just to check I've got this right - is this about \"{{ topic }}\"?"],
    "how_can_i_help": ["How can I help you today?", "What can I do for you?"],
    "you_are_welcome": ["You're welcome!", "My pleasure!"],
    "what_else": ["Sure - what else can I help you with?"],
    "noted_details": ["Thanks, I've noted that. What can I help you with today?"],
    "bot_disclosure": ["I'm {{ persona.name }}, {{ business.name }}'s virtual assistant - not a person. I can "
                       "sort out most things myself, and I can pass you to one of the team whenever you like."],
    "kb_dont_know": ["I'm sorry, I don't have information about that, and I'd rather not guess. One of our team "
                     "can find out for you - would you like me to pass this to a colleague?"],
    # one customer across channels (other_contacts.py)
    "other_contact_open": ["I can also see your {{ channel }} from {{ when }} about \"{{ summary }}\" (ticket "
                           "#{{ number }}). Is this {{ this_channel }} about the same thing?"],
    "other_contact_same": ["I can see you also wrote to us by {{ channel }} {{ when }} about this (ticket "
                           "#{{ number }}), so I've joined the two: one ticket, and you won't hear from us twice about "
                           "it."],
    "other_contact_noted": ["I can also see your {{ channel }} from {{ when }} about \"{{ summary }}\" (ticket "
                            "#{{ number }}); it stays open with our team."],
    "other_contact_joined": ["Thanks - I've joined ticket #{{ number }} to this conversation, so there's one ticket "
                             "and you won't hear from us twice about it. How can I help?"],
    "other_contact_separate": ["Got it, ticket #{{ number }} stays open separately. What can I do for you today?"],
    "joined_elsewhere": ["Since you wrote, we've picked this up on your {{ channel }} (ticket #{{ number }})"
                         "{% if resolution %}: {{ resolution }}{% elif resolved %}, and it's resolved{% endif %}."],
    # asking a teammate without handing off (teamwork.py)
    "team_question_asked": ["I don't have that in our articles, and I'd rather not guess, so I've asked a colleague. "
                            "I'll pass their answer on right here as soon as they reply. Is there anything else I "
                            "can help with meanwhile?"],
    "team_answer": ["My colleague {{ colleague }} answered your question{% if question %} ({{ question }}){% endif %}:"
                    " {{ answer }}"],
    "team_no_answer": ["I'm sorry, my colleagues haven't answered your question{% if question %} ({{ question }})"
                       "{% endif %} yet. Would you like someone to get back to you with the answer?"],
    "record_answer": ["{{ answer }}{% if looked_at %} (from {{ looked_at }}){% endif %}"],
    "record_not_found": ["I'm sorry, I can't see that in your records{% if looked_at %} (I looked at "
                         "{{ looked_at }}){% endif %}. Would you like me to pass it to a colleague to check?"],
    "ask_contact_for_callback": ["Our team is away right now. So that they can get back to you as soon as we open, "
                                 "what's the best phone number or email address to reach you on?"],
    "handoff_noted": ["Thanks, I've added that to your case so the team has it.",
                      "Got it - I've passed that on to the team with the rest of your case."],
    "handoff_waiting": ["You're in the queue for our team, and they have everything we've covered. Is there "
                        "anything you'd like me to add to your case?"],
    "handoff_goodbye": ["You're welcome. The team has all the details of your case and will be in touch. Take care!"],
    "language_not_supported": ["Sorry, I can only help in English here. Would you like me to pass you to a member "
                               "of our team?"],
}


# Built-in `language_not_supported` in the customer's language, for languages the pack has no
# replies.<lang>.yaml for: the agent only speaks the pack's language ({{ pack_language }}, named in
# the customer's language by LANGUAGE_NAMES) and offers a person.
BUILTIN_LANGUAGE_REPLIES: dict[str, dict[str, list[str]]] = {
    lang: {"language_not_supported": [line]}
    for lang, line in {
        "en": "Sorry, I can only help in {{ pack_language }}. Would you like me to pass you to a member of our team?",
        "es": "Lo siento, solo puedo atenderle en {{ pack_language }}. ¿Quiere que le pase con una persona de "
              "nuestro equipo?",
        "fr": "Désolé, je ne peux vous aider qu'en {{ pack_language }}. Voulez-vous que je vous mette en relation "
              "avec un membre de notre équipe ?",
        "de": "Entschuldigung, ich kann Ihnen nur auf {{ pack_language }} helfen. Soll ich Sie mit einem "
              "Mitarbeiter verbinden?",
        "pt": "Desculpe, só consigo ajudar em {{ pack_language }}. Quer falar com uma pessoa da nossa equipe?",
        "it": "Mi dispiace, posso aiutarla solo in {{ pack_language }}. Vuole che la metta in contatto con una "
              "persona del nostro team?",
        "nl": "Sorry, ik kan u alleen in het {{ pack_language }} helpen. Zal ik u doorverbinden met een medewerker?",
        "pl": "Przepraszam, mogę pomóc tylko po {{ pack_language }}. Czy połączyć Cię z konsultantem?",
        "tr": "Üzgünüm, yalnızca {{ pack_language }} yardımcı olabiliyorum. Sizi ekibimizden birine aktarmamı "
              "ister misiniz?",
        "ru": "Извините, я могу помочь только на {{ pack_language }} языке. Соединить вас с сотрудником?",
        "zh": "抱歉，我只能用{{ pack_language }}为您服务。需要我为您转接人工客服吗？",
        "ja": "申し訳ありませんが、{{ pack_language }}でのみ対応しております。担当者におつなぎしましょうか？",
        "ko": "죄송합니다. {{ pack_language }}로만 도와드릴 수 있습니다. 상담원에게 연결해 드릴까요?",
        "ar": "عذرًا، يمكنني المساعدة باللغة {{ pack_language }} فقط. هل تريد أن أحولك إلى أحد موظفينا؟",
        "hi": "क्षमा करें, मैं केवल {{ pack_language }} में मदद कर सकता हूँ। क्या मैं आपको हमारी टीम के किसी सदस्य से "
              "जोड़ दूँ?",
    }.items()
}

# Knowledge answers framed in the customer's language when the pack's replies.<lang>.yaml does not word them
# (the answer itself is the article's: its variant in that language, else the pack's own, said so).
_BUILTIN_KB_LINES: dict[str, dict[str, str]] = {
    "es": {"kb_answer": "{{ answer }} (de nuestro artículo «{{ title }}»)",
           "kb_answer_other_language": "Este artículo solo está en {{ article_language }}: {{ answer }} "
                                       "(«{{ title }}»)"},
    "fr": {"kb_answer": "{{ answer }} (extrait de notre article « {{ title }} »)",
           "kb_answer_other_language": "Cet article n'existe qu'en {{ article_language }} : {{ answer }} "
                                       "(« {{ title }} »)"},
    "de": {"kb_answer": "{{ answer }} (aus unserem Artikel „{{ title }}“)",
           "kb_answer_other_language": "Diesen Artikel gibt es nur auf {{ article_language }}: {{ answer }} "
                                       "(„{{ title }}“)"},
    "pt": {"kb_answer": "{{ answer }} (do nosso artigo «{{ title }}»)",
           "kb_answer_other_language": "Este artigo só existe em {{ article_language }}: {{ answer }} "
                                       "(«{{ title }}»)"},
    "it": {"kb_answer": "{{ answer }} (dal nostro articolo «{{ title }}»)",
           "kb_answer_other_language": "Questo articolo è solo in {{ article_language }}: {{ answer }} "
                                       "(«{{ title }}»)"},
}
for _lang, _lines in _BUILTIN_KB_LINES.items():
    BUILTIN_LANGUAGE_REPLIES[_lang].update({key: [line] for key, line in _lines.items()})

# The name of a pack language (columns) as said in a customer's language (rows), in the form the
# lines above need (Polish "po angielsku", Russian "на английском языке", Turkish "İngilizce").
_NAME_ORDER = ("en", "es", "fr", "de", "pt", "it")
LANGUAGE_NAMES: dict[str, dict[str, str]] = {
    lang: dict(zip(_NAME_ORDER, names.split("|"), strict=True))
    for lang, names in {
        "en": "English|Spanish|French|German|Portuguese|Italian",
        "es": "inglés|español|francés|alemán|portugués|italiano",
        "fr": "anglais|espagnol|français|allemand|portugais|italien",
        "de": "Englisch|Spanisch|Französisch|Deutsch|Portugiesisch|Italienisch",
        "pt": "inglês|espanhol|francês|alemão|português|italiano",
        "it": "inglese|spagnolo|francese|tedesco|portoghese|italiano",
        "nl": "Engels|Spaans|Frans|Duits|Portugees|Italiaans",
        "pl": "angielsku|hiszpańsku|francusku|niemiecku|portugalsku|włosku",
        "tr": "İngilizce|İspanyolca|Fransızca|Almanca|Portekizce|İtalyanca",
        "ru": "английском|испанском|французском|немецком|португальском|итальянском",
        "zh": "英语|西班牙语|法语|德语|葡萄牙语|意大利语",
        "ja": "英語|スペイン語|フランス語|ドイツ語|ポルトガル語|イタリア語",
        "ko": "영어|스페인어|프랑스어|독일어|포르투갈어|이탈리아어",
        "ar": "الإنجليزية|الإسبانية|الفرنسية|الألمانية|البرتغالية|الإيطالية",
        "hi": "अंग्रेज़ी|स्पेनिश|फ़्रेंच|जर्मन|पुर्तगाली|इतालवी",
    }.items()
}
# A language's own name, when the customer's language has no name for it above.
ENDONYMS = {"en": "English", "es": "español", "fr": "français", "de": "Deutsch", "pt": "português",
            "it": "italiano", "nl": "Nederlands", "pl": "polski", "tr": "Türkçe", "ru": "русский",
            "zh": "中文", "ja": "日本語", "ko": "한국어", "ar": "العربية", "hi": "हिन्दी"}


def language_name(language: str, in_language: str) -> str:
    """`language` (ISO 639-1) named in `in_language`: ("en", "es") -> "inglés"; its own name otherwise."""
    return LANGUAGE_NAMES.get(in_language, {}).get(language) or ENDONYMS.get(language, language)


class TemplateWording:
    """Implements the Wording port with the pack's replies over DEFAULT_REPLIES.

    `by_language` maps a language code to the pack's replies in that language (its
    templates/replies.<lang>.yaml); `language` is the pack's own language, the one `replies` are in.
    """

    def __init__(
        self,
        replies: Mapping[str, list[str]] | None = None,
        by_language: Mapping[str, Mapping[str, list[str]]] | None = None,
        language: str = "en",
    ):
        self.replies = {**DEFAULT_REPLIES, **(replies or {})}
        self.by_language = {lang: dict(own) for lang, own in (by_language or {}).items()}
        self.language = language

    def variants(self, key: str, language: str | None = None) -> list[str]:
        """The wordings of `key` in `language`: the pack's file for it, the built-in line, else the default."""
        if language:
            own = self.by_language.get(language, {})
            if key in own:
                return own[key]
            if language != self.language and key in BUILTIN_LANGUAGE_REPLIES.get(language, {}):
                return BUILTIN_LANGUAGE_REPLIES[language][key]
        return self.replies.get(key, [key])

    def has(self, key: str, language: str) -> bool:
        """Whether `key` has wording of its own in `language` (the pack's file or a built-in line)."""
        if language == self.language:
            return True
        return key in self.by_language.get(language, {}) or key in BUILTIN_LANGUAGE_REPLIES.get(language, {})

    def render(self, key_or_template: str, facts: Mapping[str, Any], language: str | None = None) -> str:
        return self.render_avoiding(key_or_template, facts, avoid=(), seed=0, language=language)

    def render_avoiding(
        self,
        key_or_template: str,
        facts: Mapping[str, Any],
        avoid: Collection[str],
        seed: int,
        language: str | None = None,
    ) -> str:
        """Render a variant (rotating with `seed`) that is none of `avoid`, the lines said just before.

        With `language`, the wording in that language when there is one (see `variants`); the facts
        then also name the pack's language in it as `pack_language` unless given.
        """
        variants = self.variants(key_or_template, language)
        chosen = language if language and self.has(key_or_template, language) else self.language
        facts = {"pack_language": language_name(self.language, chosen), **facts}
        start = seed % len(variants)
        rendered = ""
        for offset in range(len(variants)):
            rendered = render(variants[(start + offset) % len(variants)], facts)
            if rendered not in avoid:
                return rendered
        return rendered
