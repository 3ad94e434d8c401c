"""What the fake Telegram remembers of its chats: users, every message and the taps on buttons.

Telegram keeps each message a bot sends, with its inline keyboard, so that the bot can edit it
later and users can tap its buttons; a tap is a callback query that the bot must answer, once.
The descriptions of refusals are Telegram's own (from the Bot API server's source), because bots
match on them: "message is not modified", "message to edit not found", "query is too old...".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from booking_notifications.testing.fake_html import (
    ENTITY_TYPES,
    HTMLError,
    date_time_problem,
    parse_html,
    utf16_length,
)

Reply = tuple[int, dict[str, Any]]
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_ANSWER_TEXT_LENGTH = 200
MAX_CACHE_TIME = 30 * 24 * 3600
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_ID_INVALID = "query is too old and response timeout expired or query ID is invalid"
INLINE_BUTTON_KINDS = (
    "url",
    "callback_data",
    "callback_game",
    "pay",
    "switch_inline_query",
    "switch_inline_query_chosen_chat",
    "switch_inline_query_current_chat",
    "login_url",
    "web_app",
    "copy_text",
)
"""What an inline button may do, in the order Telegram looks for them; a button with none is refused."""
FIRST_CALLBACK_QUERY_ID = 2_876_543_210_000_000_001
"""Callback query ids are 64-bit numbers written as strings."""
SUPERGROUP_IDS = -1_000_000_000_000
"""Supergroup and channel ids are -100 followed by the id: below this."""


class Refusal(Exception):
    """Telegram refusing a request: the HTTP status and the body it answers with."""

    def __init__(self, status: int, description: str, **parameters: int) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def reply(self) -> Reply:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return self.status, body


def bad_request(description: str) -> Refusal:
    return Refusal(400, f"Bad Request: {description}")


def ok(result: object, description: str | None = None) -> Reply:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description is not None:
        body["description"] = description
    return 200, body


@dataclass(frozen=True)
class TelegramUser:
    """A person using Telegram, as bots see them; in a private chat, the chat id is the user id."""

    id: int
    first_name: str
    language_code: str | None = "en"
    username: str | None = None
    last_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``User`` object Telegram puts in ``from``: optional fields only when set."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                user[key] = getattr(self, key)
        return user

    def private_chat(self) -> dict[str, Any]:
        """The ``Chat`` object of this user's private chat with the bot."""
        chat: dict[str, Any] = {"id": self.id, "first_name": self.first_name}
        for key in ("last_name", "username"):
            if getattr(self, key):
                chat[key] = getattr(self, key)
        chat["type"] = "private"
        return chat


class Button(NamedTuple):
    """One inline button as a user sees it: its label and what a tap does."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class MessageVersion:
    """A message's content at one time: as sent (``source``) and as shown (``text``)."""

    text: str
    entities: list[dict[str, Any]]
    parse_mode: str | None
    source: str
    reply_markup: dict[str, Any] | None
    wall: float

    def same_content(self, other: MessageVersion) -> bool:
        """What Telegram compares before refusing an edit as "not modified"."""
        return (self.text, self.entities, self.reply_markup) == (
            other.text,
            other.entities,
            other.reply_markup,
        )


@dataclass
class StoredMessage:
    """A message in a chat, with every version it had (``versions[0]`` as first sent)."""

    chat_id: int
    message_id: int
    date: int
    chat: dict[str, Any]
    sender: dict[str, Any]
    versions: list[MessageVersion]
    edit_date: int | None = None

    @property
    def by_bot(self) -> bool:
        return bool(self.sender.get("is_bot"))

    @property
    def current(self) -> MessageVersion:
        return self.versions[-1]

    @property
    def text(self) -> str:
        return self.current.text

    @property
    def parse_mode(self) -> str | None:
        return self.current.parse_mode

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return self.current.reply_markup

    @property
    def edits(self) -> list[MessageVersion]:
        return self.versions[1:]

    def buttons(self) -> list[Button]:
        """The inline buttons it shows now, row by row, left to right."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [
            Button(b["text"], b.get("callback_data"), b.get("url")) for row in rows for b in row
        ]

    def to_json(self) -> dict[str, Any]:
        """The ``Message`` object as Telegram shows it now (inline keyboards only)."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        message["text"] = self.text
        if self.current.entities:
            message["entities"] = self.current.entities
        if self.reply_markup is not None:
            message["reply_markup"] = self.reply_markup
        return message


@dataclass
class CallbackAnswer:
    """One ``answerCallbackQuery`` call, accepted (status 200) or not."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    status: int
    monotonic: float


@dataclass
class CallbackQuery:
    """A tap on a callback button: the bot must answer it exactly once, and soon."""

    id: str
    user: TelegramUser
    chat_id: int | None
    message_id: int | None
    data: str | None
    monotonic: float
    answers: list[CallbackAnswer] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return any(answer.status == 200 for answer in self.answers)


def chat_instance(chat_id: int) -> str:
    """A stable opaque 64-bit number per chat, as Telegram's ``chat_instance`` is."""
    return str((chat_id * 2_654_435_761 + 97) % (1 << 63) - (1 << 62))


def flag(value: object) -> bool:
    """A Bot API boolean: JSON ``true``, or "true" / "1" in a form."""
    return value is True or str(value).lower() in ("true", "1")


def parse_text(
    text: object, parse_mode: object, given: object = None
) -> tuple[str, list[dict[str, Any]], str | None]:
    """The visible text, its entities and the parse mode; refused as Telegram refuses it.

    ``given`` is the request's ``entities`` (a JSON array, or already a list), used when there is
    no parse mode: each must lie inside the text counted in UTF-16 code units.
    """
    source = "" if text is None else str(text)
    mode = None if parse_mode in (None, "") else str(parse_mode)
    if mode is not None and mode.lower() not in ("html", "markdown", "markdownv2"):
        raise bad_request(f"unsupported parse_mode {mode!r}")
    visible, entities = source, list[dict[str, Any]]()
    if mode is None and given not in (None, ""):
        entities = explicit_entities(source, given)
    if mode is not None and mode.lower() == "html":
        try:
            visible, entities = parse_html(source)
        except HTMLError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
    visible, entities = _trimmed(visible, entities)
    if not visible:
        raise bad_request("message text is empty")
    return visible, entities, mode


KNOWN_ENTITIES = {*ENTITY_TYPES.values(), "expandable_blockquote", "custom_emoji", "text_mention"}
KNOWN_ENTITIES |= {"mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number"}


def explicit_entities(text: str, given: object) -> list[dict[str, Any]]:
    """A request's ``entities`` checked as Telegram checks them: known types, offsets and
    lengths in UTF-16 code units inside the text, a ``date_time``'s Unix time and format."""
    given = _decoded(given, "can't parse entities JSON object")
    if not isinstance(given, list):
        raise bad_request("can't parse entities: entities must be an Array")
    size, checked = utf16_length(text), []
    for entity in given:
        if not isinstance(entity, dict) or entity.get("type") not in KNOWN_ENTITIES:
            raise bad_request("can't parse entities: unsupported entity type")
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise bad_request("can't parse entities: offset and length must be integers")
        if offset < 0 or length <= 0 or offset + length > size:
            raise bad_request(
                f"can't parse entities: entity beyond the end of the text at offset {offset}"
            )
        if entity["type"] == "date_time":
            problem = date_time_problem(entity.get("unix_time"), entity.get("date_time_format"))
            if problem is not None:
                raise bad_request(f"can't parse entities: {problem}")
        checked.append(entity)
    return sorted(checked, key=lambda e: (e["offset"], -e["length"]))


def _trimmed(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's trim: spaces and line breaks go from the end, and from the start up to the
    first entity; entities are cut to the text that is left (TDLib's fix_formatted_text)."""
    kept = text.rstrip(" \n")
    end = utf16_length(kept)
    entities = [
        e | {"length": min(e["length"], end - e["offset"])} for e in entities if e["offset"] < end
    ]
    first = min((e["offset"] for e in entities), default=end)
    cut = min(len(kept) - len(kept.lstrip(" \n")), first)  # a space is one UTF-16 unit
    if cut:
        kept = kept[cut:]
        entities = [e | {"offset": e["offset"] - cut} for e in entities]
    return kept, entities


def _inline_button(button: object) -> dict[str, Any]:
    def refuse(reason: str) -> Refusal:
        return bad_request(f"can't parse inline keyboard button: {reason}")

    if not isinstance(button, dict):
        raise refuse("InlineKeyboardButton must be an Object")
    text = button.get("text")
    if text is None:
        raise refuse('Can\'t find field "text"')
    if not isinstance(text, str):
        raise refuse('Field "text" must be of type String')
    for kind in INLINE_BUTTON_KINDS:
        value = button.get(kind)
        if kind in ("url", "callback_data"):
            if value is not None and not isinstance(value, str):
                raise refuse(f'Field "{kind}" must be of type String')
            if not value:
                continue  # an empty url or callback_data counts as none, as on Telegram
            if kind == "callback_data" and len(value.encode()) > MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
        elif kind not in button:
            continue
        return {"text": text, kind: value}
    raise refuse("Text buttons are unallowed in the inline keyboard")


def parse_reply_markup(value: object) -> dict[str, Any] | None:
    """The inline keyboard a message will show; ``None`` for no markup or a non-inline one.

    Reply keyboards, ``ForceReply`` and ``ReplyKeyboardRemove`` are accepted but, as on Telegram,
    are not part of the ``Message`` the bot gets back.
    """
    if value is None or value == "":
        return None
    value = _decoded(value, "can't parse reply keyboard markup JSON object")
    if not isinstance(value, dict):
        raise bad_request("object expected as reply markup")
    rows = value.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list):
        raise bad_request('field "inline_keyboard" must be of type Array')
    keyboard = []
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        keyboard.append([_inline_button(button) for button in row])
    return {"inline_keyboard": keyboard} if any(keyboard) else None


def _decoded(value: object, refusal: str) -> object:
    """A parameter that is JSON in a form (a string) or already decoded (a JSON body)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise bad_request(refusal) from exc


def _message_id(params: dict[str, Any]) -> int:
    try:
        return int(str(params.get("message_id", "0")).strip() or "0")
    except ValueError:
        return 0


class Chats:
    """Users, messages and callback queries, keyed the way the Bot API addresses them."""

    def __init__(self) -> None:
        self.users: dict[int, TelegramUser] = {}
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.callbacks: dict[str, CallbackQuery] = {}
        self.callback_answers: list[CallbackAnswer] = []
        """Every ``answerCallbackQuery`` call, in order, refused ones included."""
        self._next_message_id: dict[int, int] = {}
        self._next_callback_id = FIRST_CALLBACK_QUERY_ID

    def clear(self) -> None:
        self.users.clear()
        self.messages.clear()
        self.callbacks.clear()
        self.callback_answers.clear()
        self._next_message_id.clear()
        self._next_callback_id = FIRST_CALLBACK_QUERY_ID

    def user(self, chat_id: int) -> TelegramUser:
        """The user a private chat is with: the one seen there, else a made-up "User <id>"."""
        return self.users.get(chat_id) or TelegramUser(chat_id, f"User {chat_id}")

    def register(self, user: TelegramUser) -> TelegramUser:
        """Remember a user by id; their private chat shows their name, in old messages too."""
        if self.users.get(user.id) != user:
            self.users[user.id] = user
            for message in self.in_chat(user.id):
                message.chat = user.private_chat()
        return user

    def chat_json(self, chat_id: int) -> dict[str, Any]:
        """The ``Chat`` object Telegram shows for an id: a user, a group or a supergroup."""
        if chat_id >= 0:
            return self.user(chat_id).private_chat()
        if chat_id <= SUPERGROUP_IDS:
            return {"id": chat_id, "type": "supergroup", "title": f"Supergroup {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}

    def add(self, chat_id: int, sender: dict[str, Any], version: MessageVersion) -> StoredMessage:
        """Store a new message; ids count up per chat, shared by the bot and the users in it."""
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message = StoredMessage(
            chat_id, message_id, int(version.wall), self.chat_json(chat_id), sender, [version]
        )
        self.messages[chat_id, message_id] = message
        return message

    def in_chat(self, chat_id: int) -> list[StoredMessage]:
        return [m for (chat, _), m in self.messages.items() if chat == chat_id]

    def find(self, chat_id: int, message_id: int) -> StoredMessage:
        """The message, for a test; a ``LookupError`` naming it if there is none."""
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        return message

    def to_edit(self, chat_id: int, params: dict[str, Any]) -> StoredMessage:
        """The message an edit request names, or Telegram's refusal."""
        message = self.messages.get((chat_id, _message_id(params)))
        if message is None:
            raise bad_request("message to edit not found")
        if not message.by_bot:
            raise bad_request("message can't be edited")
        return message

    def edit(self, message: StoredMessage, version: MessageVersion) -> StoredMessage:
        """Apply an edit, refused as "not modified" when nothing would change."""
        if version.same_content(message.current):
            raise bad_request(NOT_MODIFIED)
        message.versions.append(version)
        message.edit_date = int(version.wall)
        return message

    def tapped(
        self, user: TelegramUser, message: StoredMessage, data: str | None, now: float
    ) -> CallbackQuery:
        """Record a tap on a callback button of ``message``: a query waiting for its answer."""
        query = CallbackQuery(
            str(self._next_callback_id), user, message.chat_id, message.message_id, data, now
        )
        self._next_callback_id += 1
        self.callbacks[query.id] = query
        return query

    def adopt(self, query: dict[str, Any], now: float) -> None:
        """Make a hand-built ``callback_query`` answerable, as Telegram would a real one."""
        query_id = str(query.get("id", ""))
        if query_id and query_id not in self.callbacks:
            sender = query.get("from") or {}
            user = TelegramUser(int(sender.get("id", 0)), str(sender.get("first_name", "")))
            message = query.get("message") or {}
            chat_id = (message.get("chat") or {}).get("id")
            self.callbacks[query_id] = CallbackQuery(
                query_id, user, chat_id, message.get("message_id"), query.get("data"), now
            )

    def answer(self, params: dict[str, Any], now: float, timeout: float | None) -> Reply:
        """``answerCallbackQuery``: once per query, before it is too old."""
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text")
        url = params.get("url")
        try:
            cache_time = min(max(int(params.get("cache_time") or 0), 0), MAX_CACHE_TIME)
        except (TypeError, ValueError):
            cache_time = 0
        answer = CallbackAnswer(
            query_id,
            None if text is None else str(text),
            flag(params.get("show_alert")),
            None if url is None else str(url),
            cache_time,
            400,
            now,
        )
        self.callback_answers.append(answer)
        query = self.callbacks.get(query_id)
        if query is not None:
            query.answers.append(answer)
        too_old = query is not None and timeout is not None and now - query.monotonic > timeout
        if query is None or too_old or query.answered:
            raise bad_request(QUERY_ID_INVALID)
        if answer.text is not None and utf16_length(answer.text) > MAX_ANSWER_TEXT_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        answer.status = 200
        return ok(True)
