"""The real ``together-bot run`` at LOG_LEVEL=DEBUG, driven over HTTP: a story, a pledge,
a download and an erasure leave no body in its logs, and only private files behind."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

MARK = "Wuqzendralt"
READY = "Application startup complete"


class Server:
    """``together-bot run`` in a subprocess; its stderr collected line by line."""

    def __init__(self, tmp_path: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.data_dir = tmp_path / "data"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "SLACK_", "DATABASE_", "PUBLIC_"))
        }
        env.update(
            HOST="127.0.0.1",
            PORT=str(self.port),
            DATA_DIR=str(self.data_dir),
            LOG_LEVEL="DEBUG",
            MEDIA_MAX_BYTES=str(5 * 1024 * 1024),
        )
        previous = os.umask(0o022)  # a permissive parent: the command must set its own
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"],
                cwd=tmp_path,  # no developer's .env
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        finally:
            os.umask(previous)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if READY in line:
                self.ready.set()
        self.ready.set()  # the process ended: nobody waits forever

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=60)
        self._reader.join(timeout=60)
        out = self.process.stdout.read() if self.process.stdout else ""
        return "".join(self.lines) + out


class Chat:
    """A web chat visitor over real HTTP."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        page = client.get("/")
        found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
        assert found, page.text[:300]
        self.headers = {"X-CSRF-Token": found.group(1)}
        self.messages: list[dict[str, Any]] = client.get(
            "/api/chat/history", params={"after": 0}
        ).json()["messages"]
        self.count = 0

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        self.count += 1
        answer = self.client.post(
            "/api/chat/message", json={**body, "client_id": f"c{self.count}"}, headers=self.headers
        )
        assert answer.status_code == 200, answer.text
        self.messages += answer.json()["messages"]
        return dict(answer.json())

    def say(self, text: str) -> dict[str, Any]:
        return self._post({"text": text})

    def choice(self, label: str) -> dict[str, Any]:
        for message in reversed(self.messages):
            for choice in message.get("choices", []):
                if label.casefold() in choice["label"].casefold():
                    return dict(choice)
        raise AssertionError(f"no button {label!r}")

    def tap(self, label: str) -> dict[str, Any]:
        return self._post({"choice": self.choice(label)["id"]})

    def upload(self, data: bytes) -> None:
        self.count += 1
        answer = self.client.post(
            "/api/chat/upload",
            files={"file": ("photo.jpg", data, "image/jpeg")},
            data={"client_id": f"c{self.count}"},
            headers=self.headers,
        )
        assert answer.status_code == 200, answer.text
        self.messages += answer.json()["messages"]


def photo() -> bytes:
    exif = Image.Exif()
    exif[0x013B] = MARK  # Artist
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 90, 160)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_the_real_command_logs_no_body_and_keeps_its_files_private(tmp_path: Path) -> None:
    server = Server(tmp_path)
    try:
        assert server.ready.wait(timeout=120), "the bot did not start"
        assert server.process.poll() is None, "".join(server.lines)
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
            chat = Chat(client)
            chat.tap("Share your story")
            chat.tap("My own migration story")
            chat.tap("I agree")
            chat.tap("Yes, I am 18")
            chat.tap("First name")
            chat.say(f"Lina {MARK}")
            chat.say("/skip")
            chat.say("/skip")
            chat.say(f"My journey began in {MARK} when I was twenty.")
            chat.upload(photo())
            chat.tap("I'm done")
            chat.say("/skip")
            chat.tap("Submit my story")
            chat.say("/pledge")
            chat.tap("I take the pledge")
            chat.say(f"Noor {MARK}")
            chat.say("/skip")
            chat.say("/privacy")
            chat.tap("Send me a copy of my data")
            path = httpx.URL(chat.choice("Download my data")["url"]).path
            download = client.post(path)
            assert download.status_code == 200
            data = zipfile.ZipFile(io.BytesIO(download.content)).read("data.json").decode()
            assert f"Lina {MARK}" in data and f"Noor {MARK}" in data
            modes = {
                str(p.relative_to(server.data_dir)): p.stat().st_mode & 0o777
                for p in [server.data_dir, *server.data_dir.rglob("*")]
            }
            chat.say("/privacy")
            chat.tap("Erase all my data")
            erased = chat.tap("Yes, erase everything")
            assert "erased" in erased["messages"][-1]["text"]
    finally:
        logs = server.stop()

    assert " DEBUG " in logs and "story submitted" in logs  # the level really was DEBUG
    assert MARK not in logs
    assert modes.pop(".") == 0o700 and modes.pop("media") == 0o700
    assert {"together.db", "together.db-wal", "secrets.json"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes
    holding = [
        str(p) for p in tmp_path.rglob("*") if p.is_file() and MARK.encode() in p.read_bytes()
    ]
    assert holding == []
