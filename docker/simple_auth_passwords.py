"""Check a deployment's secrets and write the UI passwords file from the environment.

Run by docker-compose.yml's airflow-init (and by tests/deploy, with the same environment)
before any Airflow component starts. Reads:

- ``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS``: ``user:role,...`` (from .env's AIRFLOW_UI_USERS)
- ``AIRFLOW_UI_PASSWORD_<USER>`` for each user (upper case, other characters than letters and
  digits as ``_``): ``AIRFLOW_UI_PASSWORD_ADMIN`` for ``admin``
- ``AIRFLOW__API_AUTH__JWT_SECRET`` and ``AIRFLOW__API__SECRET_KEY``, only to refuse
  placeholders and short values

and writes ``{"user": "password", ...}`` to ``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE``
(mode 600), the file Airflow's simple auth manager reads. Exit 1 with every problem listed.
Standard library only: it runs with whichever Python the image has.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

PLACEHOLDER = "CHANGE-ME"
MIN_SECRET = 32
MIN_PASSWORD = 12
ROLES = {"viewer", "user", "op", "admin"}


def password_variable(username: str) -> str:
    return "AIRFLOW_UI_PASSWORD_" + re.sub(r"[^A-Za-z0-9]", "_", username).upper()


def problems_and_passwords(env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    problems = []
    for name, env_name in (
        ("AIRFLOW_JWT_SECRET", "AIRFLOW__API_AUTH__JWT_SECRET"),
        ("AIRFLOW_API_SECRET_KEY", "AIRFLOW__API__SECRET_KEY"),
    ):
        value = env.get(env_name, "")
        if PLACEHOLDER in value or len(value) < MIN_SECRET:
            problems.append(
                f"{name} in .env must be a random secret of at least {MIN_SECRET} characters "
                '(python3 -c "import secrets; print(secrets.token_urlsafe(64))")'
            )
    users = [u.strip() for u in env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "").split(",")]
    users = [u for u in users if u]
    if not users:
        problems.append("AIRFLOW_UI_USERS in .env names no user (user:role,...)")
    passwords = {}
    for entry in users:
        username, _, role = entry.partition(":")
        if not username or role.lower() not in ROLES:
            problems.append(
                f"AIRFLOW_UI_USERS entry '{entry}' is not user:role with a role among "
                f"{', '.join(sorted(ROLES))}"
            )
            continue
        variable = password_variable(username)
        password = env.get(variable, "")
        if PLACEHOLDER in password or len(password) < MIN_PASSWORD:
            problems.append(
                f"{variable} in .env must be the password of '{username}' "
                f"(at least {MIN_PASSWORD} characters)"
            )
            continue
        passwords[username] = password
    if not env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"):
        problems.append("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE is not set")
    return problems, passwords


def main() -> int:
    problems, passwords = problems_and_passwords(dict(os.environ))
    if problems:
        print("the deployment's .env is not ready:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    target = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(passwords, out)
        out.write("\n")
    os.replace(partial, target)
    print(f"UI users: {', '.join(passwords)} (passwords in {target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
