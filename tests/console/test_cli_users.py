"""`helpline user create` and `helpline widget create-key`, run as real subprocesses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpline.console.security import verify_password
from helpline.store.db import Database
from helpline.store.repositories import ConsoleUserRepository, WidgetKeyRepository

HELPLINE = [sys.executable, "-m", "helpline.cli.main"]


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HELPLINE, *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)


def test_user_create_with_prompt_and_with_option(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    prompted = run("user", "create", "--role", "supervisor", "--email", "Sam@Example.com", "--db", url, cwd=tmp_path,
                   stdin="a long passphrase\na long passphrase\n")
    assert prompted.returncode == 0, prompted.stderr
    assert run("user", "create", "--role", "admin", "--email", "a@example.com", "--password", "short", "--db", url,
               cwd=tmp_path).returncode == 2
    assert run("user", "create", "--role", "boss", "--email", "b@example.com", "--password", "long enough pw",
               "--db", url, cwd=tmp_path).returncode == 2
    key = run("widget", "create-key", "--origin", "https://shop.example", "--db", url, cwd=tmp_path)
    assert key.returncode == 0, key.stderr
    db = Database(url)
    with db.session() as session:
        user = ConsoleUserRepository(session).by_email("sam@example.com")
        assert user is not None and user.role == "supervisor" and user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, "a long passphrase")
        assert WidgetKeyRepository(session).verify(key.stdout.strip().splitlines()[-1], "https://shop.example")
    db.dispose()
