"""``python -m gongzhi.cli``: the same command as ``gongzhi``."""

import sys

from gongzhi.cli.main import main

sys.exit(main())
