"""Classes of mistakes a fake Telegram can make, checked over many generated cases.

* entity offsets in the wrong unit (Python characters instead of UTF-16 code units) shift every
  bold word after an emoji; aiogram then rebuilds different HTML from the message;
* commands marked in the wrong place;
* an update lost or handed out again after the bot confirmed it.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

from aiogram.types import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_notifications.testing.fake_html import parse_html
from booking_notifications.testing.fake_updates import Updates
from booking_notifications.testing.fake_users import command_entities

FAST = settings(max_examples=200, deadline=None, database=None)
TAGS = ["b", "i", "u", "s", "code", "tg-spoiler"]
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("😀👋🇺🇦\n"),
    min_size=1,
    max_size=6,
)


def utf16_slice(text: str, offset: int, length: int) -> str:
    units = text.encode("utf-16-le")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le")


@FAST
@given(st.lists(st.tuples(st.sampled_from([None, *TAGS]), st.sampled_from([None, *TAGS]), TEXT)))
def test_each_entity_covers_exactly_its_tagged_text(
    segments: list[tuple[str | None, str | None, str]],
) -> None:
    source, expected = "", []
    for outer, inner, text in segments:
        piece = html.escape(text, quote=False)
        for tag in (inner, outer):
            if tag is not None:
                piece = f"<{tag}>{piece}</{tag}>"
                expected.append((tag, text))
        source += piece

    visible, entities = parse_html(source)

    assert visible == "".join(text for _, _, text in segments)
    covered = sorted(utf16_slice(visible, e["offset"], e["length"]) for e in entities)
    assert covered == sorted(text for _, text in expected)
    message = Message.model_validate(
        {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": visible}
        | {"entities": entities}
    )
    assert parse_html(message.html_text) == (visible, entities)  # what aiogram rebuilds


WORD = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")).filter(
        lambda c: c not in "/<>@" and not c.isspace()
    )
    | st.sampled_from("😀👋"),
    min_size=1,
    max_size=5,
)
COMMAND = st.from_regex(r"/[a-z0-9_]{1,12}", fullmatch=True)


@FAST
@given(st.lists(st.tuples(st.booleans(), WORD, COMMAND), min_size=1, max_size=6))
def test_commands_are_marked_exactly_where_they_are(words: list[tuple[bool, str, str]]) -> None:
    text = " ".join(command if is_command else word for is_command, word, command in words)

    marked = [utf16_slice(text, e["offset"], e["length"]) for e in command_entities(text)]

    assert marked == [command for is_command, _, command in words if is_command]


async def _polling_client(steps: list[tuple[str, int]]) -> None:
    updates = Updates(execute=_never, notify=lambda: None)
    pushed: list[int] = []
    seen: list[int] = []
    confirmed_below = 0
    for step, number in steps:
        if step == "push":
            for _ in range(number):
                queued = updates.push({"message": {"chat": {"id": 1}}}, ("chat", 1))
                assert queued is not None
                pushed.append(queued["update_id"])
            continue
        offset = max(seen, default=-1) + 1 if seen else 0
        _, body = await updates.get_updates({"offset": offset, "limit": number})
        ids = [u["update_id"] for u in body["result"]]
        confirmed_below = max(confirmed_below, offset)
        assert all(i >= confirmed_below for i in ids), "a confirmed update came back"
        assert ids == sorted(ids) and ids == [i for i in pushed if i >= confirmed_below][:number]
        if step == "poll":  # "lost": the answer never reached the bot, which asks again
            seen.extend(ids)
    unseen = [i for i in pushed if i not in seen]
    assert [p.update_id for p in updates.pending] == [i for i in pushed if i >= offset]
    assert all(i >= confirmed_below for i in unseen), "an update was lost"


async def _never(method: str, params: dict[str, Any]) -> None:
    raise AssertionError("no webhook here")


@FAST
@given(
    st.lists(
        st.tuples(st.sampled_from(["push", "poll", "lost"]), st.integers(min_value=1, max_value=4)),
        max_size=25,
    )
)
def test_no_update_is_lost_or_returned_after_it_was_confirmed(steps: list[tuple[str, int]]) -> None:
    asyncio.run(_polling_client([*steps, ("poll", 100)]))
