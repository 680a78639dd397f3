"""``corpusql role ...`` and ``corpusql secret add``: the access commands, a thin skin over the
catalog's access and secrets methods.
"""

from __future__ import annotations

import getpass
import os

from .cli_common import _db_arg, _run

SECRET_FIELDS = {"s3": {"key": "AWS_ACCESS_KEY_ID", "secret": "AWS_SECRET_ACCESS_KEY",
                        "token": "AWS_SESSION_TOKEN"},
                 "http": {"username": "CORPUSQL_HTTP_USERNAME",
                          "password": "CORPUSQL_HTTP_PASSWORD"}}


def _secret_add(cat, a):
    values = {k: v for k, v in (("profile", a.profile), ("region", a.region),
                                ("endpoint_url", a.endpoint_url)) if v}
    if not a.profile:
        for field, env in SECRET_FIELDS[a.kind].items():
            if a.from_env:
                if os.environ.get(env):
                    values[field] = os.environ[env]
            elif field != "token":
                values[field] = getpass.getpass(f"{a.name} {field}: ")
    cat.add_secret(a.name, kind=a.kind, **values)
    print(f"secret {a.name} ({a.kind}): stored outside the database; fields: "
          f"{', '.join(sorted(values))}")


def _role_add(cat, a):
    cat.add_role(a.name)
    print(f"role {a.name}: added")


def _role_grant(cat, a):
    cat.grant(a.role, a.dataset)
    print(f"role {a.role}: may read {a.dataset}")


def _role_revoke(cat, a):
    cat.revoke(a.role, a.dataset)
    print(f"role {a.role}: may no longer read {a.dataset}")


def _role_mask(cat, a):
    cat.mask(a.role, a.dataset, a.column, kind=a.kind)
    shown = {"redact": f"pii_redact({a.column})", "hash": f"a keyed hash of {a.column}",
             "null": f"NULL for {a.column}"}[a.kind]
    print(f"role {a.role}: sees {shown} in {a.dataset}")


def _role_unmask(cat, a):
    cat.unmask(a.role, a.dataset, a.column)
    print(f"role {a.role}: sees {a.column} in {a.dataset} as it is")


def _role_allow_path(cat, a):
    cat.allow_path(a.role, a.path)
    print(f"role {a.role}: corpusql functions may open files under {a.path}")


def _role_list(cat, a):
    rows = cat.con.execute(
        "SELECT r.name, coalesce(string_agg(DISTINCT g.dataset, ',' ORDER BY g.dataset), ''), "
        "coalesce(string_agg(DISTINCT m.dataset || '.' || m.\"column\" || "
        "CASE WHEN m.kind = 'redact' THEN '' ELSE ':' || m.kind END, ',' "
        "ORDER BY m.dataset || '.' || m.\"column\" || "
        "CASE WHEN m.kind = 'redact' THEN '' ELSE ':' || m.kind END), '') "
        "FROM corpusql.roles r LEFT JOIN corpusql.grants g ON g.role = r.name "
        "LEFT JOIN corpusql.masks m ON m.role = r.name GROUP BY r.name ORDER BY r.name"
    ).fetchall()
    for name, grants, masks in rows:
        print(f"{name}\tgrants: {grants or '-'}\tmasked: {masks or '-'}")


def add_role_commands(subparsers) -> None:
    """Register ``role add|list|grant|revoke|mask|unmask|allow-path``."""
    role = subparsers.add_parser("role", help="roles: which datasets a role connection sees")
    sub = role.add_subparsers(dest="role_command", required=True)
    specs = (
        ("add", _role_add, "add a role", ("name",)),
        ("list", _role_list, "roles with their grants and masked columns "
         "(dataset.column, :hash or :null after non-redact masks)", ()),
        ("grant", _role_grant, "let a role read a dataset", ("role", "dataset")),
        ("revoke", _role_revoke, "take a grant back", ("role", "dataset")),
        ("mask", _role_mask, "show a column masked to a role (--kind redact|hash|null)",
         ("role", "dataset", "column")),
        ("unmask", _role_unmask, "drop a mask", ("role", "dataset", "column")),
        ("allow-path", _role_allow_path,
         "let corpusql functions open files under a path (models, tokenizers)", ("role", "path")),
    )
    for cmd, fn, text, args in specs:
        p = sub.add_parser(cmd, help=text)
        _db_arg(p)
        for arg in args:
            p.add_argument(arg)
        if cmd == "mask":
            p.add_argument("--kind", default="redact", choices=["redact", "hash", "null"],
                           help="redact: pii_redact of the text (best effort, free text); "
                                "hash: keyed HMAC-SHA256 (joinable); null (default: redact)")
        p.set_defaults(func=_run(fn))
