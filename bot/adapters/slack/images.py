"""The photos a Slack message shows: published photos, by their public address.

Slack messages carry no files of ours: a block of type ``image`` shows a picture Slack
fetches from a public URL. So a story's card read on Slack shows a photo only when the
bot has a public address (``PUBLIC_URL``), and only a photo that anyone may see now (its
story published, the moderator chose to publish it): the address is the wall's
``/stories/media/...`` one, which checks the same on every request. The alt text is the
moderator's. Anything else a message carries (an unpublished file, a person's own
upload, a voice note, a video) gets no address here: a story card links its page instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.deps import Deps
from bot.core.events import MediaKind, Outgoing
from bot.core.media import LOCAL
from bot.i18n import _
from bot.web.media import media_path
from storage.published import published_files_by_ref


@dataclass(frozen=True, slots=True)
class Image:
    """A picture for an ``image`` block: its public address and alt text."""

    url: str
    alt_text: str


class PublishedImages:
    """Finds the public addresses of the published photos a message carries.

    Args:
        deps: the database, the translator, and the settings' ``public_url``.
    """

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def __call__(self, message: Outgoing) -> tuple[Image, ...]:
        base = self.deps.settings.public_url
        refs = [
            m.ref for m in message.media if m.kind is MediaKind.PHOTO and m.ref.startswith(LOCAL)
        ]
        if not base or not refs:
            return ()
        async with self.deps.db.transaction() as session:
            rows = await published_files_by_ref(session, refs)
        images = []
        with self.deps.translator.use(message.locale):
            for ref in refs:
                row = rows.get(ref)
                path = media_path(row) if row is not None else None
                if row is not None and path is not None:
                    images.append(Image(base.rstrip("/") + path, row.alt_text or _("Photo")))
        return tuple(images)
