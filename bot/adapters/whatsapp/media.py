"""Downloading what a person sent on WhatsApp, so the media store can clean and keep it.

``GET /<media id>`` (Graph) says where the file is and its size; that URL is fetched
with the access token, counted as it arrives and cut off past the limit. The token goes
only over HTTPS, or as ``WHATSAPP_API_URL`` itself is reached (a test server on
loopback), never in clear text to another host; a redirect to another host drops it
(httpx).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from pywa_async import WhatsApp
from pywa_async.errors import WhatsAppError

from bot.core.events import MediaRef
from bot.core.media import FetchFailed
from storage.media import MediaRefused, Refusal

# WhatsApp's own cap on what a person can send (documents; photos are 5 MB, videos 16 MB).
CLOUD_API_LIMIT = 100 * 1024 * 1024


class WhatsAppFetcher:
    """A :data:`~bot.core.media.Fetcher` for WhatsApp media ids.

    Args:
        client: the adapter's client (its session carries the access token).
        session: that same httpx client, for the download itself.
        api_url: ``WHATSAPP_API_URL``.
    """

    def __init__(self, client: WhatsApp, session: httpx.AsyncClient, api_url: str) -> None:
        self.client = client
        self.session = session
        api = urlsplit(api_url)
        self._api_origin = (api.scheme, api.hostname)

    async def __call__(self, ref: MediaRef, max_bytes: int) -> bytes:
        """The content of one file.

        Raises:
            MediaRefused: larger than ``max_bytes``.
            FetchFailed: WhatsApp did not give the file (``transient`` unless it refused
                the request itself).
        """
        cap = min(max_bytes, CLOUD_API_LIMIT)
        try:
            found = await self.client.get_media_url(ref.ref)
        except WhatsAppError as exc:
            status = exc.status_code or 0
            passing = status >= 500 or status == 429 or bool(exc.is_transient)
            raise FetchFailed(f"whatsapp error {exc.code}", transient=passing) from None
        except httpx.HTTPError as exc:
            raise FetchFailed(type(exc).__name__) from None
        if isinstance(found.file_size, int) and found.file_size > cap:
            raise MediaRefused(Refusal.TOO_LARGE)
        parts = urlsplit(found.url)
        if not (parts.scheme == "https" or (parts.scheme, parts.hostname) == self._api_origin):
            raise FetchFailed("untrusted media URL", transient=False)
        return await self._download(found.url, cap)

    async def _download(self, url: str, cap: int) -> bytes:
        data = bytearray()
        try:
            async with self.session.stream("GET", url, follow_redirects=True) as response:
                if response.status_code != 200:
                    passing = response.status_code >= 500 or response.status_code == 429
                    raise FetchFailed(f"HTTP {response.status_code}", transient=passing)
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > cap:
                        raise MediaRefused(Refusal.TOO_LARGE)
        except httpx.HTTPError as exc:
            raise FetchFailed(type(exc).__name__) from None
        return bytes(data)
