"""Telegram channel: turns PTB updates into Incoming messages and delivers the core's replies; the webhook
endpoint Telegram posts updates to (:func:`webhook_handler`).

Replies go out through ``bot.services.direct_replies``: flood control and passing failures are retried
for a few seconds, and what still fails is handed to the outbox, so a confirmation is never lost. Answering
a pressed button (removing its keyboard) and updating the command menu are courtesies: their failures are
logged and do not stop the update from being handled.
"""

from __future__ import annotations

import functools
import hmac
import logging
from dataclasses import replace

from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    Chat,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    WebAppInfo,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.channels.telegram_polling import UpdateJournal
from bot.channels.telegram_standing import CHANNEL, membership_changed, standing
from bot.channels.telegram_updates import PollWatch, TolerantUpdatesRequest, readable_update, update_id_of
from bot.config import Settings
from bot.domain import labels
from bot.domain.chat_ids import split_address, topic_address
from bot.domain.limits import PHOTO_FILE_MAX, is_image_name
from bot.domain.messages import Button, Incoming, IncomingFile, MenuCommand, Outcome, Reply
from bot.domain.pressed import after_press
from bot.render import shared_renderer
from bot.services.direct_replies import DirectReplies
from bot.services.group_moves import group_moved
from bot.services.group_rights import GroupRights
from handlers.router import Router
from storage.audit import Actor

log = logging.getLogger(__name__)


def _button(b: Button) -> InlineKeyboardButton:
    if b.url and b.web_app:
        return InlineKeyboardButton(b.label, web_app=WebAppInfo(b.url))  # a Mini App (https only)
    if b.url:
        return InlineKeyboardButton(b.label, url=b.url)
    return InlineKeyboardButton(b.label, callback_data=b.data)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[_button(b) for b in row] for row in reply.buttons])


def incoming_from(update: Update, *, bot_username: str = "") -> Incoming | None:
    """The channel-neutral view of a message or button press; None for updates we do not handle.
    `bot_username` (the bot's own, from getMe) tells commands meant for other bots apart."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    name = user.full_name or user.username or str(user.id)
    where = Incoming(channel=CHANNEL, user_id=str(user.id), chat_id=chat_address(update), display_name=name,
                     chat_type="private" if chat.type == Chat.PRIVATE else "group", bot_username=bot_username)
    if update.callback_query is not None:
        return replace(where, callback_data=update.callback_query.data or "", key=f"press:{update.callback_query.id}")
    message = update.effective_message
    if message is None:
        return None
    if message.sender_chat is not None and message.sender_chat.id != chat.id:
        return None  # a channel's post in its discussion group (or a member posting as a channel): nobody to answer
    photos = (message.photo[-1].file_id,) if message.photo else ()
    if not photos and photo_file(message.document):
        photos = (message.document.file_id,)  # type: ignore[union-attr]  # a photo sent as a file, uncompressed
    answered = message.reply_to_message
    return replace(where, text=message.text or message.caption or "", photos=photos,
                   key=message_key(chat.id, message.message_id), unsupported=unsupported_kind(message),
                   album=message.media_group_id or "", sent_at=message.date,
                   reply_to=str(answered.message_id) if answered is not None else "",
                   anonymous=message.sender_chat is not None)


def chat_address(update: Update) -> str:
    """Where the update's answers go: its chat, and in a forum supergroup the topic it came from (a command
    typed in a topic is answered there, not in General; a group added as a bulletin group from a topic gets its
    bulletins there). Only a forum topic counts: replies in other supergroups carry a thread id too."""
    chat = update.effective_chat
    assert chat is not None
    message = update.effective_message
    topic = message.message_thread_id if isinstance(message, Message) and message.is_topic_message else None
    return topic_address(chat.id, topic)


# Every kind of message a person can send the bot that it cannot read, by what it holds (Bot API's Message).
_UNSUPPORTED = (("voice", ("voice", "audio")), ("video", ("video", "video_note", "animation")),
                ("location", ("location", "venue")), ("sticker", ("sticker",)), ("contact", ("contact",)),
                ("poll", ("poll",)), ("dice", ("dice",)), ("story", ("story",)), ("game", ("game",)),
                ("checklist", ("checklist",)), ("other", ("paid_media", "invoice", "giveaway", "giveaway_winners")))


def unsupported_kind(message: Message) -> str:
    """What a message holds that the bot cannot read (Incoming.unsupported), also when it has a caption (a site
    video captioned with a report line): "" when it holds a photo or a document, which are read, or none of the
    kinds people send by mistake (text, service messages)."""
    if message.photo or message.document:
        return ""
    return next((kind for kind, fields in _UNSUPPORTED if any(getattr(message, f) for f in fields)), "")


def photo_file(document: Document | None) -> bool:
    """Whether a document is a picture small enough for the bot to download (a photo sent as a file keeps
    its full size: Telegram does not compress it); a larger one stays a document, and is refused as one."""
    if document is None:
        return False
    picture = (document.mime_type or "").startswith("image/") or is_image_name(document.file_name or "")
    return picture and (document.file_size or 0) <= PHOTO_FILE_MAX


def message_key(chat_id: int, message_id: int) -> str:
    """A message's key (storage.processed): its id, unique within its chat, kept by every re-delivery."""
    return f"{chat_id}:{message_id}"


def incoming_file(document: Document, *, max_bytes: int) -> IncomingFile:
    """A document the user sent, not downloaded yet: the handler that accepts it fetches it (getFile, then
    the file) when it is at most `max_bytes`; over that it is never fetched, and the core refuses it."""
    name = document.file_name or shared_renderer().phrase("channel_words", "unnamed_file")
    size = document.file_size
    if size is not None and size > max_bytes:
        return IncomingFile(name=name, size=size)

    async def download() -> bytes | None:
        try:
            return bytes(await (await document.get_file()).download_as_bytearray())
        except TelegramError:
            log.warning("could not download a document sent by a user", exc_info=True)
            return None

    return IncomingFile(name=name, size=size or 0, fetch=download)


class TelegramChannel:
    """Owns the PTB Application; every update goes through the channel-neutral Router."""

    def __init__(self, settings: Settings, router: Router, *, request: BaseRequest | None = None,
                 get_updates_request: BaseRequest | None = None, direct: DirectReplies | None = None) -> None:
        self.router = router
        self.direct = direct or DirectReplies(router.deps.db, router.deps.clock)
        self.files_root = settings.data_dir
        self.document_max_bytes = settings.import_max_bytes
        token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
        if not token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        builder = ApplicationBuilder().token(token).post_init(self.publish_default_menu)
        if settings.telegram_base_url:
            builder = builder.base_url(settings.telegram_base_url)
        if settings.telegram_base_file_url:
            builder = builder.base_file_url(settings.telegram_base_file_url)
        proxy = settings.telegram_proxy if request is None else None
        if request is not None:
            builder = builder.request(request)
        elif proxy:
            builder = builder.proxy(proxy)
        self.polls = PollWatch()  # what polling meets (bot.channels.telegram_serving watches it)
        # the updates fetched and not yet handled, journaled (bot.channels.telegram_polling); None: not kept
        self.journal: UpdateJournal | None = None
        if get_updates_request is None:  # as PTB would build it, but past an update it cannot read
            get_updates_request = TolerantUpdatesRequest(connection_pool_size=1, proxy=proxy or None,
                                                         watch=self.polls)
        builder = builder.get_updates_request(get_updates_request)
        self.application: Application = builder.build()
        self.application.add_handler(CallbackQueryHandler(self.on_update))
        self.application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        self.application.add_handler(MessageHandler(
            filters.StatusUpdate.NEW_CHAT_MEMBERS | filters.StatusUpdate.CHAT_CREATED, self.on_joined))
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self.on_update))
        self.application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.ChatType.PRIVATE,
                                                    self.on_edit))
        self.application.add_handler(ChatMemberHandler(self.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        self.application.add_error_handler(self._on_error)
        router.deps.group_standing[CHANNEL] = self.may_send_in
        # what sends to groups find of the bot's rights there (bot.services.group_rights)
        self.rights = GroupRights(router.deps.db, router.deps.renderer, router.deps.clock, channel=CHANNEL,
                                  standing=self.may_send_in)

    async def publish_default_menu(self, application: Application) -> None:
        """The menu unbound users see in private chats (bound users get their own per chat), and the one
        every group chat shows: the commands that work in a group."""
        public = self.router.commands.menu(set(), bound=False)
        await application.bot.set_my_commands(_bot_commands(public), scope=BotCommandScopeDefault())
        group = self.router.commands.group_menu()
        await application.bot.set_my_commands(_bot_commands(group), scope=BotCommandScopeAllGroupChats())

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Route one update through the core and send what it produced."""
        incoming = incoming_from(update, bot_username=context.bot.username or "")
        if incoming is None:
            return
        message = update.effective_message
        if update.callback_query is None and message is not None and message.document is not None \
                and not incoming.photos:
            document = incoming_file(message.document, max_bytes=self.document_max_bytes)
            incoming = replace(incoming, document=document)  # fetched only if a handler accepts it
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError:
                log.info("could not answer a button press", exc_info=True)
            await self._after_press(update.callback_query)
        if self.journal is not None and (fetched := self.journal.answered_at(update)) is not None:
            # fetched before a restart by a process that died with it: counts for that day, and its kept replies go out
            # (not one put back by `diaodu restore`: its replies went out, or not, when the backup was made)
            incoming = replace(incoming, answered_at=fetched, first_died=self.journal.died_with(update))
        outcome = await self.router.handle(incoming)
        await self.deliver(incoming.chat_id, outcome, update=update)

    async def _after_press(self, query: CallbackQuery) -> None:
        """The pressed message's keyboard: gone once a choice is made, the pressed button marked in a list of
        several things (``bot.domain.pressed``). A message too old to edit keeps what it shows."""
        message = query.message
        if not isinstance(message, Message):  # none, or one Telegram no longer lets the bot see
            return
        rows = message.reply_markup.inline_keyboard if message.reply_markup is not None else ()
        kept = after_press([[Button(b.text, b.callback_data if isinstance(b.callback_data, str) else "")
                             for b in row] for row in rows], query.data or "")
        markup = None
        if kept is not None:
            markup = InlineKeyboardMarkup([
                [InlineKeyboardButton(mine.label, callback_data=theirs.callback_data) if mine.label != theirs.text
                 else theirs for mine, theirs in zip(new_row, row, strict=True)]
                for new_row, row in zip(kept, rows, strict=True)])
            if markup == message.reply_markup:
                return  # pressed before: nothing to mark
        try:
            await query.edit_message_reply_markup(reply_markup=markup)
        except TelegramError:
            log.debug("could not change the keyboard of a pressed message")

    async def on_edit(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message edited in a private chat is not read again: what it said was handled (or not) when it
        was sent, and nothing stored changes. Say so, and how to correct a report, rather than stay silent.
        (Edits in group chats are members' business and not answered.)"""
        chat = update.effective_chat
        if chat is not None:
            html = self.router.deps.renderer.render("edit_ignored")
            await self.deliver(str(chat.id), Outcome(replies=[Reply(html=html)]))

    async def on_migrate(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group upgraded to a supergroup has a new chat id; Telegram tells the old chat (migrate_to_chat_id)
        and the new one (migrate_from_chat_id). A bulletin group follows it, and so do its waiting notices."""
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id is not None:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id is not None:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        deps = self.router.deps
        if await group_moved(deps.db, deps.renderer, channel=CHANNEL, old=str(old), new=str(new), at=deps.clock.now(),
                             actor=Actor(label=labels.label(labels.CHANNELS, "system"), channel=CHANNEL)):
            log.info("bulletin group %s became supergroup %s", old, new)

    async def on_membership(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot's standing in a group changed (``bot.channels.telegram_standing.membership_changed``)."""
        change = update.my_chat_member
        if change is None or change.chat.type == Chat.PRIVATE:
            return  # a person blocking the bot is found by the outbox's next send
        await membership_changed(self.router.deps, self.application.bot, change)

    async def may_send_in(self, chat_id: str) -> str | None:
        """Where the bot stands in group `chat_id`, as the Bot API tells (``telegram_standing.standing``)."""
        return await standing(self.application.bot, chat_id)

    async def on_joined(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot added to a group (or a group created with it): say what it does there and how to make the
        group a bulletin group, with a button opening the private chat. Other people joining get nothing."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or chat.type == Chat.PRIVATE:
            return
        created = message.group_chat_created or message.supergroup_chat_created
        if not created and not any(member.id == context.bot.id for member in message.new_chat_members):
            return
        renderer = self.router.deps.renderer
        html = renderer.render("group_joined", commands=self.router.commands.group_menu())
        private = Button(renderer.render("private_button").strip(), "", url=f"https://t.me/{context.bot.username}")
        await self.deliver(chat_address(update), Outcome(replies=[Reply(html=html, buttons=[[private]])]))

    async def deliver(self, address: int | str, outcome: Outcome, *, update: Update | None = None) -> None:
        """Send the replies the same way the outbox does (one formatting path), then the menu if it changed.
        ``address``: the chat id, or a forum topic's address (``bot.domain.chat_ids.topic_address``). As the answer
        to ``update``, how far they go is journaled, and the kept replies to one recovered after a restart
        (``Outcome.again``) go out from where they stopped."""
        from bot.channels.telegram_transport import TelegramTransport

        address = str(address)
        transport = TelegramTransport(self.application.bot, files_root=self.files_root, rights=self.rights)
        journal = self.journal if update is not None else None
        if journal is None or update is None:
            await self.direct.deliver(transport, address, outcome.replies)
        else:
            await self.direct.deliver(transport, address, outcome.replies, start=journal.starting(update, outcome),
                                      sent=functools.partial(journal.sent, update, of=len(outcome.replies)))
            journal.answered(update)  # not handled again after a restart, whatever comes now
        bot = self.application.bot
        if outcome.menu is not None:
            chat_id = split_address(address)[0]
            try:
                await bot.set_my_commands(_bot_commands(outcome.menu), scope=BotCommandScopeChat(chat_id))
            except TelegramError:
                log.warning("could not update the command menu of chat %s", chat_id, exc_info=True)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling a Telegram update", exc_info=context.error)


def _bot_commands(menu: list[MenuCommand]) -> list[BotCommand]:
    return [BotCommand(c.name, c.description) for c in menu]


def webhook_handler(application: Application, secret: str,  # type: ignore[name-defined]
                    journal: UpdateJournal | None = None) -> web.RequestHandler:
    """The aiohttp handler Telegram posts updates to: 403 without the secret token, 400 for a body that is
    not an update at all (no integer ``update_id``; never a 500), 200 once the update is written to the
    ``journal`` (if any: a crash after the answer loses nothing) and queued for the application. An update PTB
    cannot read (a field it requires missing, a newer Bot API) is logged with what it held and answered
    200 too, as polling skips it: refused, Telegram would send it again for hours. Once the journal is closed (the
    process stopping; asked again once the body is read, right before the write), and for an update the journal
    could not write (a full disk), the answer is 503 with a Retry-After: taken then, it would be in memory only and
    lost with the process, while Telegram delivers an update it got no 2xx for again later."""

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403)
        if journal is not None and journal.closed:
            return _stopping()
        try:
            payload = await request.json()
        except ValueError:
            payload = None
        update_id = update_id_of(payload)
        if update_id is None:
            log.warning("webhook: refused a body that is not a Telegram update")
            return web.Response(status=400, text="not a Telegram update")
        update = readable_update(payload, update_id, application.bot)  # type: ignore[arg-type]
        if update is not None:
            if journal is not None:
                if journal.closed:  # closed while the body was read: nothing awaited from here to the write
                    return _stopping()
                if not journal.add([update]):  # not kept (a full disk): taken, it would be lost with the process
                    return _not_kept(update_id)
            await application.update_queue.put(update)
        return web.Response(status=200)

    return webhook


def _not_kept(update_id: int) -> web.Response:
    log.error("webhook: update %s refused, the journal could not be written; Telegram delivers it again later",
              update_id)
    return web.Response(status=503, headers={"Retry-After": "10"}, text="not kept")


def _stopping() -> web.Response:
    log.info("webhook: an update refused while the bot stops; Telegram delivers it again later")
    return web.Response(status=503, headers={"Retry-After": "10"}, text="stopping")
