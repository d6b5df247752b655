"""Keep health details out of what an inbox or lock screen shows: subject, sender, preview.

Subjects and previews may carry only a date, generic wording and the clinic's
display name; this deny-list is the last guard before a message is built.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from html.parser import HTMLParser

# Matched case-insensitively anywhere in a word, so inflections are caught
# ("suicid" → suicide, suicidal; "ketamin" → esketamine).
HEALTH_WORD_STEMS = (
    "ketamin", "spravato", "ketalar", "infusion", "dosing", "dosage", "overdose",
    "depress", "suicid", "self-harm", "self harm", "selfharm", "psychos", "psychot",
    "schizo", "bipolar", "anxiety", "anxious", "screening", "diagnos", "eligib",
    "psychedelic", "psychiatr", "antidepressant", "questionnaire", "treatment-resistant",
    "intravenous", "intramuscular", "sublingual", "nasal spray", "addiction",
    "substance use", "opioid", "benzodiazepine", "lamotrigine", "prescri", "medication",
    "trauma",
)  # fmt: skip
# Matched case-insensitively as whole words only, because as stems they would
# hit ordinary words ("mania" in "Romania", "score" in "underscore").
HEALTH_WORDS = ("dose", "doses", "mania", "manic", "score", "scores", "crisis", "ptsd", "ocd")
# Matched case-sensitively as whole words: in lower case they are ordinary
# words or names (Gad, im, rem).
HEALTH_ACRONYMS = (
    "PHQ", "PHQ-9", "GAD", "GAD-7", "C-SSRS", "CSSRS", "TRD", "KAP", "IV", "IM", "ECT",
    "TMS", "REMS", "ADHD", "SUD", "MDD",
)  # fmt: skip

# Characters a preview pane may show before the reader opens the message.
PREVIEW_LENGTH = 240


class PrivacyViolation(ValueError):
    """A subject, sender name or preview would reveal health information."""


# A whole word is a maximal run of word characters, and an acronym a maximal run of word
# characters and hyphens (what ``\bword\b`` and ``(?<![\w-])ACRONYM(?![\w-])`` match), so each
# text is split into runs once and the terms looked up in them (every email is checked five times).
WORD_RUN = re.compile(r"\w+")
ACRONYM_RUN = re.compile(r"[\w-]+")
assert all(WORD_RUN.fullmatch(word) for word in HEALTH_WORDS)
assert all(ACRONYM_RUN.fullmatch(acronym) for acronym in HEALTH_ACRONYMS)


def find_health_terms(text: str, *, allowed: Collection[str] = ()) -> list[str]:
    """Every deny-listed term found in `text` (except those in `allowed`), in list order."""
    allowed_lower = {term.lower() for term in allowed}
    lowered = text.lower()
    words = set(WORD_RUN.findall(lowered))
    runs = set(ACRONYM_RUN.findall(text))
    found = [stem for stem in HEALTH_WORD_STEMS if stem in lowered]
    found += [word for word in HEALTH_WORDS if word in words]
    found += [acronym for acronym in HEALTH_ACRONYMS if acronym in runs]
    return [term for term in found if term.lower() not in allowed_lower]


def assert_subject_is_private(subject: str, *, allowed: Collection[str] = ()) -> str:
    """Return `subject` unchanged, or raise PrivacyViolation naming the terms found."""
    return assert_is_private(subject, "subject", allowed=allowed)


def assert_sender_is_private(display_name: str) -> str:
    """The From name shows next to every subject, so it obeys the same rule."""
    return assert_is_private(display_name, "sender name")


def assert_preview_is_private(
    body_text: str, *, allowed: Collection[str] = (), people: Collection[str] = ()
) -> str:
    """Check the opening of a body, which mail clients show as a preview.

    ``people`` are names that appear in it (the patient's, the clinician's): a name is not a
    diagnosis, so "Dana Dosing" must still get her emails; names are blanked out before the check.
    """
    assert_is_private(without_names(preview_of(body_text), people), "preview", allowed=allowed)
    return body_text


def without_names(text: str, people: Collection[str]) -> str:
    for name in sorted((n for n in people if n), key=len, reverse=True):
        text = text.replace(" ".join(name.split()), " ")
    return text


def preview_of(body_text: str) -> str:
    """The first characters a mail client would show, whitespace collapsed."""
    return " ".join(body_text.split())[:PREVIEW_LENGTH]


def assert_html_preview_is_private(html: str, *, allowed: Collection[str] = (), people: Collection[str] = ()) -> str:
    """Check what a client previews: the hidden preheader, and the visible text for clients that drop it."""
    with_preheader, without_preheader = html_texts(html, enough=PREVIEW_LENGTH)
    assert_preview_is_private(with_preheader, allowed=allowed, people=people)
    assert_preview_is_private(without_preheader, allowed=allowed, people=people)
    return html


def html_text(html: str, *, include_preheader: bool) -> str:
    """The body text of an HTML email in reading order (head, styles and scripts left out)."""
    return html_texts(html)[0 if include_preheader else 1]


def html_texts(html: str, *, enough: int | None = None) -> tuple[str, str]:
    """The body text with the preheader, and without it, from one pass over the markup.

    With ``enough``, reading may stop once the text without the preheader (the shorter one) holds
    more than that many characters, whitespace collapsed: the rest cannot change a preview that long.
    """
    reader = BodyTextReader()
    step = len(html) if enough is None else HTML_READ_STEP
    # The head holds no text to read (escaped content can hold no "<body"): start at the body.
    start = max(0, html.find("<body")) if enough is not None else 0
    for offset in range(start, len(html), step):
        reader.feed(html[offset : offset + step])
        if enough is not None and reader.visible_length > enough:
            break
    else:
        reader.close()
    return " ".join(text for text, _ in reader.chunks), " ".join(text for text, hidden in reader.chunks if not hidden)


HTML_READ_STEP = 1024


class BodyTextReader(HTMLParser):
    """Collects text outside <head>, <style>, <script>, noting what is in the preheader (`<div data-preheader>`)."""

    SKIPPED = frozenset({"head", "title", "style", "script"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[tuple[str, bool]] = []
        self.skip_depth = 0
        self.in_preheader = False
        self.visible_length = 0  # of the text outside the preheader, whitespace collapsed and chunks joined

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skip_depth += 1
        elif tag == "div" and any(name == "data-preheader" for name, _ in attrs):
            self.in_preheader = True

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "div":
            self.in_preheader = False

    def handle_data(self, data: str) -> None:
        if not self.skip_depth and data.strip():
            self.chunks.append((data.strip(), self.in_preheader))
            if not self.in_preheader:
                self.visible_length += len(" ".join(data.split())) + 1


def assert_is_private(text: str, what: str, *, allowed: Collection[str] = ()) -> str:
    terms = find_health_terms(text, allowed=allowed)
    if terms:
        raise PrivacyViolation(
            f"{what} would reveal health information ({', '.join(terms)}): {text!r}; "
            "if the clinic's own name contains these words, set a discreet_name"
        )
    return text
