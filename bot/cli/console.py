"""`python -m bot console add-user|delete-user|list-users`: console accounts, on REDIS_URL or
the embedded Redis like the app; no WeChat settings needed."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import TextIO

import redis

from bot.cli.intents import cli_config, cli_redis
from bot.console.accounts import ROLES, AccountError, AccountStore
from bot.console.audit import AuditLog


def add_parser(sub: argparse._SubParsersAction) -> None:
    console = sub.add_parser("console", help="manage console accounts")
    csub = console.add_subparsers(dest="console_command", required=True)
    add = csub.add_parser("add-user", help="create or reset an account (asks for a password, "
                                           "or reads it from stdin when that is not a terminal)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    delete = csub.add_parser("delete-user", help="delete an account; its sessions end at once")
    delete.add_argument("name")
    csub.add_parser("list-users", help="list accounts and roles")


def open_accounts() -> tuple[AccountStore, AuditLog]:
    client = cli_redis(cli_config())
    return AccountStore(client), AuditLog(client)


def read_password(stdin: TextIO) -> str:
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise AccountError("the two passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def run(args: argparse.Namespace, stdin: TextIO = sys.stdin,
        accounts: AccountStore | None = None, audit: AuditLog | None = None) -> int:
    try:
        if accounts is None or audit is None:
            accounts, audit = open_accounts()
        if args.console_command == "add-user":
            existed = accounts.get(args.name) is not None
            accounts.add(args.name, args.role, read_password(stdin), time.time())
            audit.record("cli", "account_replaced" if existed else "account_added", time.time(),
                         name=args.name, role=args.role)
            print(f"{'reset' if existed else 'added'} {args.role} account {args.name!r}")
            return 0
        if args.console_command == "delete-user":
            if not accounts.delete(args.name):
                print(f"error: no account {args.name!r}", file=sys.stderr)
                return 1
            audit.record("cli", "account_deleted", time.time(), name=args.name)
            print(f"deleted account {args.name!r}")
            return 0
        for account in accounts.all():
            print(f"{account.name}\t{account.role}")
        return 0
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except redis.RedisError as exc:
        print(f"error: cannot use Redis: {exc}", file=sys.stderr)
        return 1
