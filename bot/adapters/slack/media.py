"""Downloading what a person shared in their DM with the app, for the media store.

``files.info`` (scope ``files:read``) says where the file is; its ``url_private_download``
is fetched with the bot token. The token goes only to Slack's own file host (or the host
of ``SLACK_API_URL``, for a test server), never to a URL anyone else chose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.events import MediaRef
from bot.core.media import FetchFailed
from storage.media import MediaRefused, Refusal

SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
CHUNK = 64 * 1024


class SlackFetcher:
    """A :data:`~bot.core.media.Fetcher` for Slack file ids.

    Args:
        client: the adapter's Web API client (its token authorises the download).
        token: the bot token.
        timeout: seconds for the whole download.
    """

    def __init__(self, client: AsyncWebClient, token: str, *, timeout: float = 60.0) -> None:
        self.client = client
        self._token = token
        self._timeout = timeout
        api_host = urlsplit(client.base_url).hostname
        self._hosts = SLACK_FILE_HOSTS | ({api_host} if api_host else set())

    async def __call__(self, ref: MediaRef, max_bytes: int) -> bytes:
        """The content of one shared file.

        Raises:
            MediaRefused: larger than ``max_bytes``.
            FetchFailed: Slack did not give the file, or named a host we do not trust.
        """
        try:
            answer = await self.client.files_info(file=ref.ref)
        except SlackApiError as exc:
            passing = exc.response.status_code >= 500 or exc.response.status_code == 429
            data = exc.response.data  # a 5xx's body may be an HTML page, not JSON
            error = str(data.get("error", "slack_error")) if isinstance(data, dict) else "http"
            raise FetchFailed(error, transient=passing) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FetchFailed(type(exc).__name__) from None
        file: Mapping[str, Any] = answer.get("file") or {}
        size = file.get("size")
        if isinstance(size, int) and size > max_bytes:
            raise MediaRefused(Refusal.TOO_LARGE)
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or parts.hostname not in self._hosts:
            raise FetchFailed("untrusted file host", transient=False)
        if parts.scheme == "http" and parts.hostname in SLACK_FILE_HOSTS:
            raise FetchFailed("file URL without TLS", transient=False)
        return await self._download(url, max_bytes)

    async def _download(self, url: str, max_bytes: int) -> bytes:
        headers = {"Authorization": f"Bearer {self._token}"}
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.get(url, headers=headers, allow_redirects=False) as response,
            ):
                if response.status != 200:
                    passing = response.status >= 500 or response.status == 429
                    raise FetchFailed(f"HTTP {response.status}", transient=passing)
                if response.content_type == "text/html":  # Slack's sign-in page: no access
                    raise FetchFailed("not a file", transient=False)
                data = bytearray()
                async for chunk in response.content.iter_chunked(CHUNK):
                    data.extend(chunk)
                    if len(data) > max_bytes:
                        raise MediaRefused(Refusal.TOO_LARGE)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FetchFailed(type(exc).__name__) from None
        return bytes(data)
