"""Start, stop and describe a private MariaDB under a project-local folder (dev and tests)."""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for d in ("/usr/sbin", "/usr/bin", "/usr/local/sbin") if (p := Path(d) / name).exists()),
        None,
    )


@dataclass
class MariaDB:
    """One private mariadbd: its data folder, socket and loopback port."""

    home: Path
    port: int

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    @property
    def socket(self) -> Path:
        return self.home / "mysqld.sock"

    @property
    def pidfile(self) -> Path:
        return self.home / "mysqld.pid"

    @property
    def log(self) -> Path:
        return self.home / "mysqld.log"

    def url(self, database: str) -> str:
        return f"mysql://badgekit:badgekit@127.0.0.1:{self.port}/{database}"

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def install(self) -> None:
        if (self.datadir / "mysql").exists():
            return
        binary = _which("mariadb-install-db")
        if binary is None:
            sys.exit("mariadb-install-db not found: install Debian's mariadb-server (make does this)")
        self.datadir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [binary, "--no-defaults", f"--datadir={self.datadir}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def start(self, wait: float = 60.0) -> None:
        self.install()
        if self.pid() is None:
            binary = _which("mariadbd")
            if binary is None:
                sys.exit("mariadbd not found: install Debian's mariadb-server (make does this)")
            args = [
                binary, "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
                f"--port={self.port}", "--bind-address=127.0.0.1", f"--pid-file={self.pidfile}",
                f"--log-error={self.log}", "--user=root", "--skip-log-bin",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
                "--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=2",
                "--max-connections=500", "--skip-name-resolve",
            ]
            subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self._ready():
                self._bootstrap()
                return
            time.sleep(0.1)
        sys.exit(f"MariaDB did not start on port {self.port}; see {self.log}")

    def _ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self.socket.exists()
        except OSError:
            return False

    def sql(self, statement: str) -> None:
        client = _which("mariadb") or _which("mysql")
        if client is None:
            sys.exit("the mariadb client is not installed")
        subprocess.run([client, "--no-defaults", "-uroot", f"--socket={self.socket}", "-e", statement],
                       check=True)

    def _bootstrap(self) -> None:
        self.sql(
            "CREATE USER IF NOT EXISTS 'badgekit'@'127.0.0.1' IDENTIFIED BY 'badgekit';"
            "GRANT ALL PRIVILEGES ON *.* TO 'badgekit'@'127.0.0.1' WITH GRANT OPTION;"
            "CREATE DATABASE IF NOT EXISTS badgekit CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
        )

    def stop(self, wait: float = 30.0) -> None:
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.1)


def secret(path: Path) -> str:
    """A random secret kept in a file, made on first use and reused after."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "env"])
    parser.add_argument("--home", default=str(ROOT / ".badgekit"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BADGEKIT_DEV_DB_PORT", "3406")))
    args = parser.parse_args()
    home = Path(args.home).resolve()
    db = MariaDB(home / "mariadb", args.port)
    if args.command == "start":
        db.start()
    elif args.command == "stop":
        db.stop()
    else:
        print(f"export BADGEKIT_DATABASE_URL={db.url('badgekit')}")
        print(f"export BADGEKIT_MASTER_SECRET={secret(home / 'master_secret')}")
        print(f"export BADGEKIT_KEY_SECRET={secret(home / 'key_secret')}")


if __name__ == "__main__":
    main()
