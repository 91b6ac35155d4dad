import sys

from stalib.cli import main

sys.exit(main())
