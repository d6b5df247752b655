"""How a clinic presents itself in email, and colours that stay readable."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kapbook_reminders.domain.booking import require_web_url

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
BODY_TEXT_COLOUR = "#1f2933"
DARK_TEXT_COLOUR = "#111111"
WHITE = "#ffffff"
# WCAG 2.x AA minimum for normal-size text.
MINIMUM_CONTRAST = 4.5


@dataclass(frozen=True)
class ClinicBranding:
    """The clinic's name, addresses and look.

    `discreet_name` is what inboxes show (From name, subject, preview, invite
    summary); set it when the legal name itself names a drug or treatment,
    e.g. "Harbor Clinic" for "Harbor Ketamine Clinic".
    """

    name: str
    from_address: str
    reply_to: str
    brand_colour: str
    website_url: str
    postal_address: str
    discreet_name: str | None = None
    use_12_hour_clock: bool = False

    def __post_init__(self) -> None:
        if not HEX_COLOUR.match(self.brand_colour):
            raise ValueError("brand_colour must look like #1a6b5c")
        for address in (self.from_address, self.reply_to):
            if "@" not in address:
                raise ValueError(f"not an email address: {address!r}")
        require_web_url(self.website_url, "website_url")

    @property
    def display_name(self) -> str:
        return self.discreet_name or self.name

    @property
    def mail_domain(self) -> str:
        """The domain for Message-IDs: the sender's own, so it is stable and ours."""
        return self.from_address.rsplit("@", 1)[1].lower()

    @property
    def button_text_colour(self) -> str:
        """White or near-black, whichever reads better on the brand colour."""
        return readable_text_colour(self.brand_colour)

    @property
    def link_colour(self) -> str:
        """The brand colour for links on white, unless it is too pale to read."""
        if contrast_ratio(self.brand_colour, WHITE) >= MINIMUM_CONTRAST:
            return self.brand_colour
        return BODY_TEXT_COLOUR


def readable_text_colour(background: str) -> str:
    """Pick the text colour with the higher contrast against `background`."""
    if contrast_ratio(background, WHITE) >= contrast_ratio(background, DARK_TEXT_COLOUR):
        return WHITE
    return DARK_TEXT_COLOUR


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio between two #rrggbb colours (1 to 21)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""
    red, green, blue = (linear_channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def linear_channel(value: int) -> float:
    scaled = value / 255
    return scaled / 12.92 if scaled <= 0.04045 else ((scaled + 0.055) / 1.055) ** 2.4
