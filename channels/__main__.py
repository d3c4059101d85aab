"""``python -m channels``: run the gateway (``rights gateway`` does the same)."""

import sys

from channels.errors import ConfigError
from channels.gateway import main

try:
    sys.exit(main())
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
