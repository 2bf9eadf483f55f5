import sys

from netspec.cli.main import main

sys.exit(main())
