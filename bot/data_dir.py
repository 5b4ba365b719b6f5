"""``DATA_DIR`` holds the SQLite database, uploaded media and generated secrets: it is
readable by the bot's own user only.

New files are private because ``together-bot`` runs with umask 077 (and the database,
media and secrets code create theirs 0600 anyway); :func:`prepare_data_dir` also fixes
what an earlier version left readable to others.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from storage.db import PRIVATE_DIR, PRIVATE_FILE


def prepare_data_dir(data_dir: Path, *subdirs: Path) -> int:
    """Create ``data_dir`` and ``subdirs`` 0700 if needed, and make every directory
    below it 0700 and every file 0600 (symbolic links are left alone).

    Args:
        data_dir: ``DATA_DIR``.
        subdirs: directories the bot writes to (the media store), made here so that
            whoever writes there first finds them private.

    Returns:
        How many modes were changed (an install from before this rule, or files copied
        in by hand).
    """
    for directory in (data_dir, *subdirs):
        directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    changed = _chmod(data_dir, PRIVATE_DIR)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            changed += _chmod(Path(root, name), PRIVATE_DIR)
        for name in files:
            changed += _chmod(Path(root, name), PRIVATE_FILE)
    return changed


def _chmod(path: Path, mode: int) -> int:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) == mode:
        return 0
    path.chmod(mode)
    return 1
