"""``python -m smsc.load``: the load client without the smsc CLI around it."""
import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
