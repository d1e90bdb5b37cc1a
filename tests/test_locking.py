"""Row locks taken only to serialize writers never block foreign-key checks.

`SELECT ... FOR UPDATE` conflicts with the FOR KEY SHARE lock that PostgreSQL takes on a
referenced row whenever a row pointing at it is inserted: locking a venue FOR UPDATE while
another transaction inserts an event or a ticket of that venue (and holds the event counter)
deadlocked concurrent check opens. Brigade never changes a primary key, so every lock is
FOR NO KEY UPDATE (`select_for_update(no_key=True)`), which serializes writers just the same.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("restaurant", "orders", "kitchen", "payments", "pos")


def test_every_row_lock_is_a_no_key_lock():
    offenders = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for call in re.findall(r"select_for_update\(([^)]*)\)", line):
                    if "no_key=True" not in call:
                        offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
