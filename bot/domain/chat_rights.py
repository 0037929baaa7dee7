"""Where the bot stands in a group chat, as its channel finds out (the chat app's membership and rights, or a send
it refused), in a word: ``IN`` (it may send everything), ``OUT`` (taken out), ``MUTED`` (in the group, but it may
not send messages), ``NO_PHOTOS``, ``NO_DOCUMENTS``, ``NO_FILES`` (it may send text, not photos, not documents, or
neither). And what a send needs a right for: ``MESSAGES`` (text), ``PHOTOS`` or ``DOCUMENTS`` (Telegram grants the
two apart: a group may take the bulletin's workbook and refuse its charts)."""

from __future__ import annotations

IN, OUT, MUTED, NO_PHOTOS, NO_DOCUMENTS, NO_FILES = "in", "out", "muted", "no_photos", "no_documents", "no_files"
MESSAGES, PHOTOS, DOCUMENTS = "messages", "photos", "documents"
FILE_KINDS = frozenset({PHOTOS, DOCUMENTS})
_REFUSED = {NO_PHOTOS: frozenset({PHOTOS}), NO_DOCUMENTS: frozenset({DOCUMENTS}), NO_FILES: FILE_KINDS}
SENDING = (IN, NO_PHOTOS, NO_DOCUMENTS, NO_FILES)  # the standings where the bot may send messages


def refused_files(standing: str) -> frozenset[str]:
    """The kinds of file a standing (one of ``SENDING``) refuses the bot: none for ``IN``."""
    return _REFUSED.get(standing, frozenset())


def standing_of(*, messages: bool, photos: bool, documents: bool) -> str:
    """The standing of a bot in a group that may (or may not) send messages, photos and documents there."""
    if not messages:
        return MUTED
    return {(True, True): IN, (False, True): NO_PHOTOS, (True, False): NO_DOCUMENTS}.get((photos, documents),
                                                                                        NO_FILES)
