import sys

from otklik.cli import main

sys.exit(main())
