"""``python -m channels.abuse``: see channels.abuse.cli."""

import sys

from channels.abuse.cli import main

sys.exit(main())
