"""The ``banyan`` console script: Django's management commands under one name.

``banyan serve``, ``banyan demo``, ``banyan seed``, ``banyan token create USER``,
``banyan audit verify``, ``banyan ledger import FILE`` … are management commands of
the Banyan apps; any Django command (``banyan migrate``) works as well.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banyan.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "banyan"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
