"""Search attributes that let operators find bookings in the Temporal UI.

"Which bookings get a notice in the next hour?" is one visibility query on NextNotificationAt.
Each must be registered on the server (dev server flags, the test server's operator service,
compose's admin tools) before a workflow uses it, or its workflow task stalls.
"""

from temporalio.common import SearchAttributeKey

BOOKING_ID = SearchAttributeKey.for_keyword("BookingId")
BOOKING_STARTS_AT = SearchAttributeKey.for_datetime("BookingStartsAt")
NEXT_NOTIFICATION_AT = SearchAttributeKey.for_datetime("NextNotificationAt")

ALL = (BOOKING_ID, BOOKING_STARTS_AT, NEXT_NOTIFICATION_AT)
