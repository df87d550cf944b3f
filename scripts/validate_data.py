"""Validate the bundled corpus and functional suite (same as `tfgbv-validate-data`; see tfgbv.data.validate).

python scripts/validate_data.py                      # check
python scripts/validate_data.py --write-statement    # regenerate the counts block in data/DATA_STATEMENT.md
"""

import sys

from tfgbv.cli.data import validate_data as main

if __name__ == "__main__":
    sys.exit(main())
