"""What the bot says, in the person's language (gettext, like the notices' texts)."""

from __future__ import annotations

from booking_notifications.texts.messages import _

CONNECTED = _("✅ Connected: you will get your booking reminders here.")
LINK_UNKNOWN = _(
    "This link is not one we know. Open the link your booking service gave you, "
    "or ask it for a new one."
)
LINK_USED = _("This link has already been used. Ask your booking service for a new one.")
LINK_EXPIRED = _("This link has expired. Ask your booking service for a new one.")
HOW_TO_CONNECT = _(
    "Hello! To get your booking reminders here, open the “Connect Telegram” link "
    "your booking service gives you."
)
ALREADY_CONNECTED = _(
    "You are connected: your booking reminders come here. "
    "/settings chooses what you receive, /stop pauses them."
)
PAUSED = _("Your reminders are paused: you get only cancellations and moves. Resume them?")
STOPPED = _("Paused: from now on you get only cancellations and moves. /start resumes the rest.")
SETTINGS = _("What would you like to receive? Tap to switch. Cancellations and moves always come.")
RESUMED = _("Resumed: you get all your booking notices again.")
CONFIRMED_LINE = _("✅ You confirmed: you'll be there.")
CONFIRMED = _("Thanks, see you there!")
ALREADY_CONFIRMED = _("Already confirmed.")
ASK_CANCEL = _("Cancel %(title)s on %(span)s?")
CANCELLED_LINE = _("❌ You cancelled this booking.")
CANCELLED = _("Cancelled.")
ALREADY_CANCELLED = _("This booking is already cancelled.")
KEPT = _("👍 Kept: %(title)s on %(span)s stays booked.")
KEPT_ANSWER = _("Kept.")
NOT_VALID = _("This button is not valid.")
NOT_YOURS = _("This booking is not yours.")
OVER = _("This booking is over.")
MOVED = _("This booking has moved since this message: see the newer one.")
GONE = _("This booking no longer exists.")
TOPIC_ON = _("%(topic)s: on")
TOPIC_OFF = _("%(topic)s: off")
BOOKINGS = _("Your upcoming bookings:")
NO_BOOKINGS = _("You have no upcoming bookings.")
BOOKING_CONFIRMED = _("%(number)s. %(title)s: %(span)s (%(zone)s), ✅ confirmed")
BOOKING_UNCONFIRMED = _("%(number)s. %(title)s: %(span)s (%(zone)s), not confirmed yet")
MORE_BOOKINGS = _("Only the next %(count)s are shown.")
BOOKINGS_NOT_YOURS = _("Only the person these bookings belong to can list them.")
